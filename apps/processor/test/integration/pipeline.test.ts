import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { createLogger, SENSOR_TYPES, type TelemetryEvent } from '@telemetrypulse/shared';
import {
  groupCaughtUp,
  rawCounts,
  readTopic,
  type TestDatabase,
  testKafka,
  usePipelineFixture,
  waitUntil,
  windowMismatches,
} from '@telemetrypulse/devstack/test';
import { startSimulator } from '@telemetrypulse/simulator/testing';
import { startTestProcessor } from '../support.ts';

const logger = createLogger('test', 'silent');

/** Raw rows stored so far. */
const stored = async (db: TestDatabase) => (await rawCounts(db)).rows;

describe('processor pipeline (real Kafka + PostgreSQL)', () => {
  const fx = usePipelineFixture(6);
  const { processors } = fx;

  it('when two simulated sites publish and a bad message sits among them, then every good event is stored once, aggregates equal the raw rows, and the bad one reaches the DLQ with its reason', async () => {
    const { db, topics } = fx;
    const perSite = 1500;
    const sims = await Promise.all(
      ['site-a', 'site-b'].map((siteId, i) =>
        startSimulator({
          kafka: testKafka(),
          topic: topics.events,
          site: {
            siteId,
            zones: ['zone-01', 'zone-02', 'zone-03'],
            devicesPerZone: 2,
            sensors: [...SENSOR_TYPES],
            anomalyRate: 0.5,
            seed: i + 1,
          },
          eventsPerSecond: 2000,
          maxEvents: perSite,
          logger,
          registry: new Registry(),
        }),
      ),
    );
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({
      topic: topics.events,
      messages: [
        { key: 'bad-1', value: '{"event_id": "not json' },
        { key: 'bad-2', value: JSON.stringify({ event_id: randomUUID(), sensor_type: 'co2' }) },
      ],
    });
    await producer.disconnect();
    const stats = await Promise.all(sims.map((s) => s.done));
    assert.deepEqual(
      stats.map((s) => s.sent),
      [perSite, perSite],
    );

    processors.push(await startTestProcessor(db, topics, `g-${randomUUID()}`));
    await waitUntil('all events stored', async () => (await stored(db)) === 2 * perSite);

    assert.equal((await rawCounts(db)).distinct, 2 * perSite);
    assert.deepEqual(await windowMismatches(db), []);
    const sites = await db.sql<{ site_id: string }[]>`select site_id from sites order by 1`;
    assert.deepEqual(
      sites.map((s) => s.site_id),
      ['site-a', 'site-b'],
    );

    const dead = await readTopic(topics.dlq, 2);
    const byKey = new Map(dead.map((m) => [m.key, JSON.parse(m.value) as Record<string, unknown>]));
    assert.match(String(byKey.get('bad-1')?.error), /malformed JSON/);
    assert.equal(byKey.get('bad-1')?.original_payload, '{"event_id": "not json');
    assert.equal(byKey.get('bad-1')?.source_topic, topics.events);
    assert.match(String(byKey.get('bad-2')?.error), /missing field/);
  });

  it('when the whole topic is delivered again, then nothing is stored or counted twice', async () => {
    const { db, topics } = fx;
    const base = Date.now() - 20 * 60_000;
    const events: TelemetryEvent[] = Array.from({ length: 400 }, (_, i) => ({
      event_id: randomUUID(),
      device_id: `site-r-zone-0${i % 3}-dev-01`,
      site_id: 'site-r',
      zone_id: `zone-0${i % 3}`,
      sensor_type: SENSOR_TYPES[i % 4] ?? 'co2',
      value: i % 4 === 3 ? i % 20 : 20 + (i % 7) * 0.1,
      ts_event: new Date(base + i * 3000).toISOString(),
    }));
    const producer = testKafka().producer();
    await producer.connect();
    // The same events twice on the topic, as a producer retry would leave them.
    for (let round = 0; round < 2; round++) {
      await producer.send({
        topic: topics.events,
        messages: events.map((e) => ({ key: e.device_id, value: JSON.stringify(e) })),
      });
    }
    await producer.disconnect();

    const first = await startTestProcessor(db, topics, `g-${randomUUID()}`);
    processors.push(first);
    await waitUntil('first delivery stored', async () => (await stored(db)) === events.length);
    const aggBefore = await db.sql`select * from telemetry_agg_5m order by 1, 2, 3, 4`;

    // A new group reads everything from the start: a full redelivery of committed batches.
    const secondGroup = `g-${randomUUID()}`;
    processors.push(await startTestProcessor(db, topics, secondGroup));
    await waitUntil('redelivery committed', () => groupCaughtUp(secondGroup, topics.events));
    assert.equal(await stored(db), events.length);
    assert.deepEqual(await db.sql`select * from telemetry_agg_5m order by 1, 2, 3, 4`, aggBefore);
    assert.deepEqual(await windowMismatches(db), []);
  });
});
