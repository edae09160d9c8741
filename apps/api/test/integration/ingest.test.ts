import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createTestTopics, freePort, readTopic, testKafka } from '@telemetrypulse/devstack/test';
import { createKafkaPublisher, type EventPublisher } from '../../src/ingest/publisher.ts';
import { logger, problemOf, startTestApi, type TestApi } from '../support.ts';

const WRITE_KEY = 'write-key-0123456789';
const READ_KEY = 'read-key-0123456789';

/** The first `count` messages of a topic, their values parsed. */
const readJson = async (topic: string, count: number) =>
  (await readTopic(topic, count)).map((m) => ({
    key: m.key,
    value: JSON.parse(m.value) as Record<string, unknown>,
  }));

function post(url: string, body: unknown, key: string | null = WRITE_KEY) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const event = (overrides: Record<string, unknown> = {}) => ({
  device_id: 'site-01-zone-01-dev-01',
  site_id: 'site-01',
  zone_id: 'zone-01',
  sensor_type: 'co2',
  value: 612.5,
  ...overrides,
});

describe('ingest to a real Kafka', () => {
  let api: TestApi;
  let publisher: EventPublisher;
  let topic: string;

  before(async () => {
    topic = (await createTestTopics(3)).events;
    publisher = createKafkaPublisher({ kafka: testKafka(), topic, timeoutMs: 10_000, logger });
    api = await startTestApi({
      publisher,
      auth: { writeKeys: [WRITE_KEY], readKeys: [READ_KEY] },
    });
  });

  after(async () => {
    await api.close();
    await publisher.close();
  });

  it('when an event is posted to /ingest, then it is 201 queued and lands on the topic keyed by device', async () => {
    const response = await post(`${api.url}/ingest`, event());
    assert.equal(response.status, 201);
    assert.deepEqual(await response.json(), { status: 'accepted', message: 'Event queued' });

    const [message] = await readJson(topic, 1);
    assert.ok(message);
    assert.equal(message.key, 'site-01-zone-01-dev-01');
    assert.equal(message.value.value, 612.5);
    assert.match(String(message.value.event_id), /^[0-9a-f-]{36}$/);
    assert.ok(!Number.isNaN(Date.parse(String(message.value.ts_event))));
  });

  it('when the event breaks the contract, then a 422 problem gives the reason', async () => {
    const response = await post(`${api.url}/ingest`, event({ sensor_type: 'radon' }));
    assert.equal(response.status, 422);
    assert.match(String((await problemOf(response)).detail), /sensor_type must be one of/);
    const humid = await post(`${api.url}/ingest`, event({ sensor_type: 'humidity', value: 130 }));
    assert.equal(humid.status, 422);
    assert.match(String((await problemOf(humid)).detail), /out of range/);
  });

  it('when the body is not an event object or not JSON, then a 400 problem', async () => {
    const list = await post(`${api.url}/ingest`, [event()]);
    assert.equal(list.status, 400);
    const broken = await post(`${api.url}/ingest`, '{"device_id":');
    assert.equal(broken.status, 400);
    await problemOf(broken);
  });

  it('when no key or a wrong key is sent, then 401; when a read-only key is sent, then 403', async () => {
    const none = await post(`${api.url}/ingest`, event(), null);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    await problemOf(none);
    assert.equal((await post(`${api.url}/ingest`, event(), 'nope')).status, 401);
    const readOnly = await post(`${api.url}/ingest`, event(), READ_KEY);
    assert.equal(readOnly.status, 403);
    assert.equal((await problemOf(readOnly)).status, 403);
  });

  it('when the key comes as X-API-Key, then it is accepted too', async () => {
    const response = await fetch(`${api.url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': WRITE_KEY },
      body: JSON.stringify(event()),
    });
    assert.equal(response.status, 202);
  });

  it('when a batch is posted, then 202 says how many were queued and why the others were not', async () => {
    const batchTopic = (await createTestTopics(3)).events;
    const batchPublisher = createKafkaPublisher({
      kafka: testKafka(),
      topic: batchTopic,
      timeoutMs: 10_000,
      logger,
    });
    const batchApi = await startTestApi(
      { publisher: batchPublisher, auth: { writeKeys: [WRITE_KEY] } },
      api.db,
    );
    try {
      const id = randomUUID();
      const response = await post(`${batchApi.url}/api/v1/events`, [
        event({ event_id: id, ts_event: new Date().toISOString() }),
        event({ value: 'high' }),
        event({ device_id: 'site-01-zone-02-dev-01', zone_id: 'zone-02' }),
        'not an event',
      ]);
      assert.equal(response.status, 202);
      const body = (await response.json()) as {
        accepted: number;
        rejected: number;
        errors: { index: number; reason: string }[];
      };
      assert.equal(body.accepted, 2);
      assert.equal(body.rejected, 2);
      assert.deepEqual(
        body.errors.map((e) => e.index),
        [1, 3],
      );
      assert.match(body.errors[0]?.reason ?? '', /value/);
      const messages = await readJson(batchTopic, 2);
      assert.deepEqual(messages.map((m) => m.key).sort(), [
        'site-01-zone-01-dev-01',
        'site-01-zone-02-dev-01',
      ]);
      assert.ok(messages.some((m) => m.value.event_id === id));
    } finally {
      await batchApi.close();
      await batchPublisher.close();
    }
  });

  it('when a batch is larger than 1000 events, then a 400 problem', async () => {
    const response = await post(
      `${api.url}/api/v1/events`,
      Array.from({ length: 1001 }, () => event()),
    );
    assert.equal(response.status, 400);
    assert.match(String((await problemOf(response)).detail), /at most 1000/);
  });

  it('when Kafka is up, then readiness for ingest says so', async () => {
    const response = await fetch(`${api.url}/health/ready/ingest`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      status: 'ready',
      checks: { database: 'up', kafka: 'up' },
    });
  });
});

describe('ingest when Kafka is unavailable', () => {
  let api: TestApi;
  let publisher: EventPublisher;

  before(async () => {
    const { Kafka, logLevel } = await import('kafkajs');
    // Nothing listens on a port just released by the OS.
    const kafka = new Kafka({
      brokers: [`127.0.0.1:${await freePort()}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    publisher = createKafkaPublisher({ kafka, topic: 'telemetry.events', timeoutMs: 1500, logger });
    api = await startTestApi({
      publisher,
      auth: { writeKeys: [WRITE_KEY] },
      ingestRetryAfterSeconds: 7,
    });
  });

  after(async () => {
    await api.close();
    await publisher.close();
  });

  for (const [path, body] of [
    ['/ingest', event()],
    ['/api/v1/events', [event()]],
  ] as const) {
    it(`when an event is posted to ${path}, then 503 with Retry-After`, async () => {
      const response = await post(`${api.url}${path}`, body);
      assert.equal(response.status, 503);
      assert.equal(response.headers.get('retry-after'), '7');
      const problem = await problemOf(response);
      assert.match(String(problem.detail), /retry later/);
    });
  }

  it('when readiness is probed, then reads stay ready and ingest readiness says 503', async () => {
    const reads = await fetch(`${api.url}/health/ready`);
    assert.equal(reads.status, 200);
    assert.deepEqual(await reads.json(), {
      status: 'ready',
      checks: { database: 'up', kafka: 'down' },
    });
    assert.equal((await fetch(`${api.url}/health/ready/ingest`)).status, 503);
  });
});
