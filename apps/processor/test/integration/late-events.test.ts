import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import {
  createLogger,
  DEFAULT_ALERT_RULES,
  DEFAULT_LIMITS,
  type TelemetryEvent,
} from '@telemetrypulse/shared';
import { createTestDatabase, type TestDatabase } from '../../../devstack/src/test/database.ts';
import { createTestTopics, testKafka, type TestTopics } from '../../../devstack/src/test/kafka.ts';
import { startProcessor, type Processor } from '../../src/ingest/consumer.ts';
import { windowMismatches, rawCounts } from '../invariants.ts';
import { groupCaughtUp, waitUntil } from '../support.ts';

const logger = createLogger('test', 'silent');

function reading(tsMs: number, value: number): TelemetryEvent {
  return {
    event_id: randomUUID(),
    device_id: 'site-l-zone-01-dev-01',
    site_id: 'site-l',
    zone_id: 'zone-01',
    sensor_type: 'temperature',
    value,
    ts_event: new Date(tsMs).toISOString(),
  };
}

describe('late and out-of-order events (real Kafka + PostgreSQL)', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  let processor: Processor | undefined;

  beforeEach(async () => {
    db = await createTestDatabase();
    topics = await createTestTopics(1);
  });
  afterEach(async () => {
    await processor?.stop();
    await db.drop();
  });

  it('when events arrive out of order and some long after their time, then each updates its own window and the late ones are counted', async () => {
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
    processor = await startProcessor({
      kafka: testKafka(),
      sql: db.sql,
      logger,
      registry,
      topics,
      groupId: group,
      limits: DEFAULT_LIMITS,
      rules: DEFAULT_ALERT_RULES,
      partitionsConcurrently: 1,
      lateAfterMs: 60_000,
    });
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
