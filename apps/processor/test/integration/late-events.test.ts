import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { TelemetryEvent } from '@telemetrypulse/shared';
import {
  groupCaughtUp,
  rawCounts,
  telemetryEvent,
  testKafka,
  usePipelineFixture,
  waitUntil,
  windowMismatches,
} from '@telemetrypulse/devstack/test';
import { startConsumerOnly } from '../support.ts';

/** A temperature reading of site-l taken at `tsMs`. */
const reading = (tsMs: number, value: number): TelemetryEvent =>
  telemetryEvent({
    site_id: 'site-l',
    sensor_type: 'temperature',
    value,
    ts_event: new Date(tsMs).toISOString(),
  });

describe('late and out-of-order events (real Kafka + PostgreSQL)', () => {
  const fx = usePipelineFixture(1);

  it('when events arrive out of order and some long after their time, then each updates its own window and the late ones are counted', async () => {
    const { db, topics } = fx;
    const now = Date.now();
    const fresh = Array.from({ length: 6 }, (_, i) => reading(now - 5_000 - i * 1000, 21 + i));
    const late = Array.from({ length: 4 }, (_, i) =>
      reading(now - 40 * 60_000 + i * 60_000, 18 + i),
    );
    const shuffled = [
      fresh[0],
      late[2],
      fresh[3],
      late[0],
      fresh[1],
      late[3],
      fresh[5],
      late[1],
      fresh[2],
      fresh[4],
    ];
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({
      topic: topics.events,
      messages: shuffled.map((e) => ({ key: e!.device_id, value: JSON.stringify(e) })),
    });
    await producer.disconnect();

    const registry = new Registry();
    const group = `g-${randomUUID()}`;
    const processor = await startConsumerOnly({
      sql: db.sql,
      registry,
      topics,
      groupId: group,
      partitionsConcurrently: 1,
      lateAfterMs: 60_000,
    });
    fx.processors.push(processor);
    await waitUntil('all stored', () => groupCaughtUp(group, topics.events));

    assert.deepEqual(await rawCounts(db), { rows: 10, distinct: 10 });
    assert.deepEqual(await windowMismatches(db), []);
    const lateWindows = await db.sql<{ n: number }[]>`
      select count(*)::int as n from telemetry_agg_5m where window_start < ${new Date(now - 30 * 60_000)}`;
    assert.ok((lateWindows[0]?.n ?? 0) >= 1, 'the late events have windows of their own');
    const counted = (await registry.getSingleMetric('telemetry_processor_events_late_total')?.get())
      ?.values[0]?.value;
    assert.equal(counted, late.length);
  });
});
