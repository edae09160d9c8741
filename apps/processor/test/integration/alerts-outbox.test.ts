// The alert outbox on the real Kafka + PostgreSQL: nothing is lost while the broker refuses or
// when the processor is killed, and replicas publishing side by side send each row once.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type postgres from 'postgres';
import { createLogger, type Sql, type TelemetryEvent } from '@telemetrypulse/shared';
import {
  groupCaughtUp,
  produceEvents,
  testBrokers,
  type TestDatabase,
  testKafka,
  usePipelineFixture,
  waitUntil,
} from '@telemetrypulse/devstack/test';
import { startOutboxPublisher, type OutboxPublisher } from '../../src/alerts/outbox.ts';
import { ALERT_OUTBOX_CHANNEL } from '../../src/alerts/store.ts';
import { spawnProcessor } from '../processor-process.ts';
import { outboxSize, publishedAlerts } from '../support.ts';

const logger = createLogger('test', 'silent');

/** Queues `count` transitions as a batch would, alert ids 1..count. */
async function queue(sql: Sql | postgres.TransactionSql, count: number): Promise<void> {
  await sql`
    insert into alert_outbox (alert_id, transition, site_id, payload)
    select i, 'opened', 'site-' || (i % 3), jsonb_build_object('alert_id', i, 'transition', 'opened')
    from generate_series(1, ${count}) as i
    order by i`;
}

function publisher(
  db: TestDatabase,
  topic: string,
  batchSize = 500,
  registry = new Registry(),
): Promise<OutboxPublisher> {
  return startOutboxPublisher({
    sql: db.sql,
    kafka: testKafka(),
    logger,
    registry,
    topic,
    batchSize,
    pollMs: 100,
  });
}

/** The distinct alert_id/transition/key triples on a topic (copies are allowed). */
async function distinct(topic: string): Promise<string[]> {
  return (await publishedAlerts(topic))
    .map(({ key, alert }) => `${alert.alert_id}/${alert.transition}/${key ?? ''}`)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** Rows a publisher claimed, sent and deleted (its transitions counter). */
async function publishedCount(registry: Registry): Promise<number> {
  const metric = await registry
    .getSingleMetric('telemetry_processor_alerts_published_total')
    ?.get();
  return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

/**
 * co2 readings of `zones` zones, one device each, a second apart: 10 readings above the
 * threshold, then 10 normal ones, over and over, so each zone has `readings / 20` incidents.
 */
function flappingZones(zones: number, readings: number): TelemetryEvent[] {
  const startMs = Date.now() - 60 * 60_000;
  const events: TelemetryEvent[] = [];
  for (let i = 0; i < readings; i++) {
    for (let z = 0; z < zones; z++) {
      const zoneId = `zone-${String(z).padStart(3, '0')}`;
      events.push({
        event_id: randomUUID(),
        device_id: `site-ob-${zoneId}-dev-01`,
        site_id: 'site-ob',
        zone_id: zoneId,
        sensor_type: 'co2',
        value: Math.floor(i / 10) % 2 === 0 ? 1100 : 800,
        ts_event: new Date(startMs + i * 1000).toISOString(),
      });
    }
  }
  return events;
}

describe('alert outbox publisher (real Kafka + PostgreSQL)', () => {
  const fx = usePipelineFixture(3);
  // Processes, processors and publishers alike: the fixture stops them after each test.
  const { processors } = fx;

  it('when transitions are queued, then each reaches the topic keyed by its alert id and leaves the outbox', async () => {
    const { db, topics } = fx;
    await queue(db.sql, 3);
    processors.push(await publisher(db, topics.alerts));

    await waitUntil('the outbox is empty', async () => (await outboxSize(db)) === 0);
    assert.deepEqual(await distinct(topics.alerts), ['1/opened/1', '2/opened/2', '3/opened/3']);
  });

  it('when the topic cannot take them, then the transitions stay in the outbox and go out once it can', async () => {
    const { db, topics } = fx;
    const admin = testKafka().admin();
    await admin.connect();
    const missing = `${topics.alerts}.later`;
    try {
      await queue(db.sql, 5);
      processors.push(await publisher(db, missing));
      await new Promise((r) => setTimeout(r, 2_000));
      assert.equal(await outboxSize(db), 5);

      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: missing }] });
      await waitUntil('the outbox is empty', async () => (await outboxSize(db)) === 0, 90_000);
      assert.equal((await distinct(missing)).length, 5);
    } finally {
      await admin.disconnect();
    }
  });

  it('when two replicas publish side by side, then no row is claimed by both and every transition arrives', async () => {
    const { db, topics } = fx;
    const registries = [new Registry(), new Registry()];
    processors.push(
      ...(await Promise.all(registries.map((r) => publisher(db, topics.alerts, 50, r)))),
    );
    // Both are woken by the same notification and race for the rows.
    await db.sql.begin(async (tx) => {
      await queue(tx, 1_000);
      await tx`select pg_notify(${ALERT_OUTBOX_CHANNEL}, '')`;
    });

    await waitUntil('the outbox is empty', async () => (await outboxSize(db)) === 0);
    const claimed = await Promise.all(registries.map((r) => publishedCount(r)));
    assert.equal(claimed[0]! + claimed[1]!, 1_000, `claimed ${claimed.join(' + ')}`);
    assert.equal((await distinct(topics.alerts)).length, 1_000);
  });

  it('when the processor is killed with SIGKILL while incidents open and resolve, then after a restart every transition is on the alerts topic at least once and no incident is doubled', async () => {
    const { db, topics } = fx;
    const zones = 100;
    const readings = 200;
    await produceEvents(topics.events, flappingZones(zones, readings));
    const group = `g-${randomUUID()}`;
    const spawn = () => {
      const child = spawnProcessor({
        brokers: testBrokers(),
        databaseUrl: db.url,
        topics,
        groupId: group,
      });
      processors.push(child);
      return child;
    };

    const victim = spawn();
    await waitUntil('some incidents are stored', async () => {
      const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from telemetry_alerts`;
      return (row?.n ?? 0) >= 100;
    });
    victim.child.kill('SIGKILL');
    await victim.exited;
    const [left] = await db.sql<{ n: number }[]>`select count(*)::int as n from telemetry_alerts`;
    assert.ok((left?.n ?? 0) < zones * (readings / 20), 'killed while work was left');

    const survivor = spawn();
    await waitUntil('the group caught up', () => groupCaughtUp(group, topics.events), 90_000);
    await waitUntil('the outbox is empty', async () => (await outboxSize(db)) === 0);
    survivor.child.kill('SIGTERM');
    assert.equal(await survivor.exited, 0, survivor.output());

    const incidents = await db.sql<{ alert_id: number; status: string }[]>`
      select alert_id, status from telemetry_alerts`;
    assert.equal(incidents.length, zones * (readings / 20));
    const expected = new Set(
      incidents.flatMap((a) => [
        `${a.alert_id}/opened`,
        ...(a.status === 'resolved' ? [`${a.alert_id}/resolved`] : []),
      ]),
    );
    const sent = await publishedAlerts(topics.alerts);
    assert.deepEqual(
      new Set(sent.map(({ alert }) => `${alert.alert_id}/${alert.transition}`)),
      expected,
    );
  });
});
