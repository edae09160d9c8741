// An ingest request's trace goes on through Kafka: the HTTP server span, the producer span under
// it and the traceparent on every message share one trace id. Database calls are CLIENT spans of
// the request that made them.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { SpanKind } from '@telemetrypulse/shared';
import {
  createTestTopics,
  readRawTopic,
  recordSpans,
  testKafka,
} from '@telemetrypulse/devstack/test';
import { createKafkaPublisher, type EventPublisher } from '../../src/ingest/publisher.ts';
import { logger, startTestApi, type TestApi } from '../support.ts';

const WRITE_KEY = 'trace-key-0123456789';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

/** The headers of the first `count` messages of a topic. */
const readHeaders = async (topic: string, count: number) =>
  (await readRawTopic(topic, count)).map((m) => m.headers);

const events = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    device_id: `site-trace-zone-01-dev-0${i}`,
    site_id: 'site-trace',
    zone_id: 'zone-01',
    sensor_type: 'temperature',
    value: 21 + i,
  }));

async function ingest(url: string, count: number): Promise<void> {
  const response = await fetch(`${url}/api/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${WRITE_KEY}` },
    body: JSON.stringify(events(count)),
  });
  assert.equal(response.status, 202, await response.text());
}

/** An API publishing to a fresh topic; close() undoes it. */
async function startIngestApi(): Promise<{ api: TestApi; topic: string; close(): Promise<void> }> {
  const topic = (await createTestTopics(1)).events;
  const publisher: EventPublisher = createKafkaPublisher({
    kafka: testKafka(),
    topic,
    timeoutMs: 10_000,
    logger,
  });
  const api = await startTestApi({ publisher, auth: { writeKeys: [WRITE_KEY] } });
  return {
    api,
    topic,
    close: async () => {
      await api.close();
      await publisher.close();
    },
  };
}

describe('api tracing (real Kafka and PostgreSQL)', () => {
  describe('when tracing is off', () => {
    it('then ingested messages carry no trace headers', async () => {
      const ingesting = await startIngestApi();
      try {
        await ingest(ingesting.api.url, 2);
        const headers = await readHeaders(ingesting.topic, 2);
        for (const h of headers) assert.equal(h.traceparent, undefined);
      } finally {
        await ingesting.close();
      }
    });
  });

  describe('with an in-memory exporter', () => {
    const recorded = recordSpans('api', ['http']);
    let running: Awaited<ReturnType<typeof startIngestApi>>;

    before(async () => {
      // In production the preload patches http before anything loads it. Here it is loaded
      // already; requiring it once more lets the instrumentation's hook patch it. Server spans
      // come from http.Server.prototype, which the servers made before share.
      createRequire(import.meta.url)('node:http');
      running = await startIngestApi();
    });

    after(async () => {
      await running.close();
    });

    const serverSpans = (spans: ReadableSpan[], traceId: string) =>
      spans.filter((s) => s.kind === SpanKind.SERVER && s.spanContext().traceId === traceId);

    it('when events are ingested, then each message carries the traceparent of a producer span inside the request span', async () => {
      await ingest(running.api.url, 3);
      const headers = await readHeaders(running.topic, 3);
      const spans = await recorded.finished();

      const sends = spans.filter((s) => s.name === `send ${running.topic}`);
      assert.equal(sends.length, 1, 'one producer span for the one request');
      const [send] = sends;
      assert.ok(send);
      assert.equal(send.kind, SpanKind.PRODUCER);
      assert.equal(send.attributes['messaging.batch.message_count'], 3);
      const traceId = send.spanContext().traceId;

      // The request's span (instrumented http server) is the producer span's parent.
      const [server, ...others] = serverSpans(spans, traceId);
      assert.ok(server, `no server span in trace ${traceId}`);
      assert.deepEqual(others, []);
      assert.equal(send.parentSpanContext?.spanId, server.spanContext().spanId);

      // Every message continues that trace, under the producer span.
      for (const h of headers) {
        const match = TRACEPARENT.exec(String(h.traceparent));
        assert.ok(match, `traceparent ${String(h.traceparent)}`);
        assert.equal(match[1], server.spanContext().traceId);
        assert.equal(match[2], send.spanContext().spanId);
      }
    });

    it('when a read queries the database, then the query is a CLIENT span under the request span', async () => {
      const response = await fetch(`${running.api.url}/api/v1/sites`);
      assert.equal(response.status, 200);
      await response.arrayBuffer();
      const spans = await recorded.finished();

      const query = spans.find((s) => s.name === 'selectSites');
      assert.ok(query, `spans: ${spans.map((s) => s.name).join(', ')}`);
      assert.equal(query.kind, SpanKind.CLIENT);
      assert.equal(query.attributes['db.system.name'], 'postgresql');
      const [server] = serverSpans(spans, query.spanContext().traceId);
      assert.ok(server, 'no server span in the query trace');
      assert.equal(query.parentSpanContext?.spanId, server.spanContext().spanId);
    });
  });
});
