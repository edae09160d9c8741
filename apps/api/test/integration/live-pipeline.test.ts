import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  createTestDatabase,
  createTestTopics,
  type TestDatabase,
  testKafka,
} from '@telemetrypulse/devstack/test';
import { startTestProcessor, type TestProcessor } from '@telemetrypulse/processor/testing';
import { startLiveHub, type LiveHub } from '../../src/live/hub.ts';
import { createKafkaPublisher, type EventPublisher } from '../../src/ingest/publisher.ts';
import { SseReader } from '../sse.ts';
import { logger, startTestApi, type TestApi } from '../support.ts';

const KEY = 'pipeline-key-0123456789';

interface StreamedAlert {
  alert_id: number;
  site_id: string;
  zone_id: string;
  alert_type: string;
  status: string;
  value: number;
}

describe('ingest → Kafka → processor → live stream', () => {
  let db: TestDatabase;
  let processor: TestProcessor;
  let hub: LiveHub;
  let publisher: EventPublisher;
  let api: TestApi;
  const stream = new SseReader();

  before(async () => {
    db = await createTestDatabase();
    const topics = await createTestTopics();
    processor = await startTestProcessor(db, topics, `api-pipeline-${randomUUID()}`);
    hub = await startLiveHub({ sql: db.sql, logger, coalesceMs: 50 });
    publisher = createKafkaPublisher({
      kafka: testKafka(),
      topic: topics.events,
      timeoutMs: 15_000,
      logger,
    });
    api = await startTestApi({ auth: { writeKeys: [KEY] }, live: hub, publisher }, db);
  });

  after(async () => {
    stream.close();
    await hub.close();
    await api.close();
    await publisher.close();
    await processor.stop();
    await db.drop();
  });

  async function ingest(value: number): Promise<void> {
    const response = await fetch(`${api.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({
        device_id: 'site-77-zone-03-dev-01',
        site_id: 'site-77',
        zone_id: 'zone-03',
        sensor_type: 'co2',
        value,
        ts_event: new Date().toISOString(),
      }),
    });
    assert.equal(response.status, 202);
    assert.deepEqual(await response.json(), { accepted: 1, rejected: 0, errors: [] });
  }

  const alerts = () =>
    stream.events
      .filter((e) => e.event === 'alert')
      .map((e) => JSON.parse(e.data) as StreamedAlert);

  it('when a high reading is posted, then a stream client receives the alert the processor opened', async () => {
    const response = await stream.open(`${api.url}/api/v1/live?site_id=site-77`);
    assert.equal(response.status, 200);
    await stream.until('the connected comment', () => stream.comments.includes('connected'));

    await ingest(1450);
    await stream.until('the opened alert', () => alerts().some((a) => a.status === 'open'), 60_000);
    const [opened] = alerts();
    assert.deepEqual(
      {
        site: opened?.site_id,
        zone: opened?.zone_id,
        type: opened?.alert_type,
        status: opened?.status,
        value: opened?.value,
      },
      { site: 'site-77', zone: 'zone-03', type: 'CO2_HIGH', status: 'open', value: 1450 },
    );
    // The stream carries what the database holds.
    const [stored] = await db.sql<{ alert_id: number; status: string }[]>`
      select alert_id, status from telemetry_alerts where site_id = 'site-77'`;
    assert.equal(stored?.alert_id, opened?.alert_id);
  });

  it('when a reading at the clear level follows, then the client receives the alert resolved', async () => {
    await ingest(850);
    await stream.until(
      'the resolved alert',
      () => alerts().some((a) => a.status === 'resolved'),
      60_000,
    );
    const resolved = alerts().find((a) => a.status === 'resolved');
    assert.equal(resolved?.alert_id, alerts()[0]?.alert_id);
    // Window changes are batched for a moment, so they may come after the alert.
    await stream.until(
      'the site window changes',
      () => stream.events.some((e) => e.event === 'aggregates' && e.data.includes('site-77')),
      30_000,
    );
  });
});
