// A client that resends an event after a timeout, without ts_event, gets a fresh server time on
// each attempt: the event must still be stored, and counted, once (idempotence on event_id).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  createTestDatabase,
  createTestTopics,
  rawCounts,
  type TestDatabase,
  testKafka,
  waitUntil,
  windowMismatches,
} from '@telemetrypulse/devstack/test';
import { startTestProcessor, type TestProcessor } from '@telemetrypulse/processor/testing';
import { createKafkaPublisher, type EventPublisher } from '../../src/ingest/publisher.ts';
import { logger, startTestApi, type TestApi } from '../support.ts';

const KEY = 'idempotence-key-0123456789';
// One device, so every event goes to one partition and is stored in the order sent.
const reading = {
  device_id: 'site-81-zone-01-dev-01',
  site_id: 'site-81',
  zone_id: 'zone-01',
  sensor_type: 'temperature',
  value: 21.5,
};
const nextMillisecond = () => new Promise((resolve) => setTimeout(resolve, 2));

describe('ingest → Kafka → processor: a resent event_id (real Kafka and PostgreSQL)', () => {
  let db: TestDatabase;
  let processor: TestProcessor;
  let publisher: EventPublisher;
  let api: TestApi;

  before(async () => {
    db = await createTestDatabase();
    const topics = await createTestTopics();
    processor = await startTestProcessor(db, topics, `api-idempotence-${randomUUID()}`);
    publisher = createKafkaPublisher({
      kafka: testKafka(),
      topic: topics.events,
      timeoutMs: 15_000,
      logger,
    });
    api = await startTestApi({ auth: { writeKeys: [KEY] }, publisher }, db);
  });

  after(async () => {
    await api.close();
    await publisher.close();
    await processor.stop();
    await db.drop();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${api.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify(body),
    });

  it('when POST /ingest and POST /api/v1/events each send one event_id twice without ts_event, then each is one raw row, counted once', async () => {
    const [viaIngest, viaEvents, marker] = [randomUUID(), randomUUID(), randomUUID()];
    const statuses: number[] = [];
    for (const attempt of [1, 2]) {
      statuses.push((await post('/ingest', { ...reading, event_id: viaIngest })).status);
      statuses.push(
        (await post('/api/v1/events', { ...reading, event_id: viaEvents, value: 22 + attempt }))
          .status,
      );
      // The server's clock moves on between the attempts, as it does after a client's timeout.
      await nextMillisecond();
    }
    statuses.push((await post('/api/v1/events', { ...reading, event_id: marker })).status);
    assert.deepEqual(statuses, [201, 202, 201, 202, 202]);

    await waitUntil('the marker event is stored', async () => {
      const [row] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from telemetry_events where event_id = ${marker}`;
      return row?.n === 1;
    });
    const rows = await db.sql<{ event_id: string; value: number }[]>`
      select event_id::text, value from telemetry_events
      where event_id in ${db.sql([viaIngest, viaEvents])} order by event_id`;
    // Each is stored as its first attempt carried it.
    const expected = [
      { event_id: viaIngest, value: 21.5 },
      { event_id: viaEvents, value: 23 },
    ].sort((a, b) => a.event_id.localeCompare(b.event_id));
    assert.deepEqual([...rows], expected);
    assert.deepEqual(await rawCounts(db), { rows: 3, distinct: 3 });
    const [windows] = await db.sql<{ count: number }[]>`
      select sum(count_events)::int as count from telemetry_agg_5m where site_id = 'site-81'`;
    assert.equal(windows?.count, 3);
    assert.deepEqual(await windowMismatches(db), []);
  });
});
