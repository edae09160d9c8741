// A producer's trace reaches the processor through a real Kafka topic: the processor's batch
// span continues the trace the message carries, and the batch's transaction is a span in it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { deviceId, sendWithTrace, SpanKind, withSpan } from '@telemetrypulse/shared';
import {
  createTestDatabase,
  createTestTopics,
  groupCaughtUp,
  recordSpans,
  type TestDatabase,
  testKafka,
  type TestTopics,
  waitUntil,
} from '@telemetrypulse/devstack/test';
import { startTestProcessor, type TestProcessor } from '../support.ts';

const SITE = 'site-trace';

describe('processor tracing (real Kafka and PostgreSQL)', () => {
  const recorded = recordSpans('processor');
  let db: TestDatabase;
  let topics: TestTopics;
  let processor: TestProcessor | undefined;

  before(async function () {
    this.timeout(60_000);
    db = await createTestDatabase();
    topics = await createTestTopics(1);
  });

  after(async function () {
    this.timeout(60_000);
    await processor?.stop();
    await db.drop();
  });

  it('when a message carries a traceparent, then the processor span of its batch continues its trace and the transaction is a span in it', async function () {
    this.timeout(120_000);
    const groupId = `trace-${randomUUID()}`;
    processor = await startTestProcessor(db, topics, groupId);
    const producer = testKafka().producer();
    await producer.connect();
    const traceId = await withSpan('test publish', { kind: SpanKind.INTERNAL }, async (span) => {
      await sendWithTrace(topics.events, 1, (headers) =>
        producer.send({
          topic: topics.events,
          acks: -1,
          messages: [
            {
              key: deviceId(SITE, 'zone-01', 0),
              headers,
              value: JSON.stringify({
                event_id: randomUUID(),
                device_id: deviceId(SITE, 'zone-01', 0),
                site_id: SITE,
                zone_id: 'zone-01',
                sensor_type: 'co2',
                value: 640,
                ts_event: new Date().toISOString(),
              }),
            },
          ],
        }),
      );
      return span.spanContext().traceId;
    });
    await producer.disconnect();
    await waitUntil('the group caught up', () => groupCaughtUp(groupId, topics.events), 90_000);

    const spans = await recorded.finished();
    const send = spans.find((s) => s.name === `send ${topics.events}`);
    assert.ok(send, 'the send span was recorded');
    assert.equal(send.spanContext().traceId, traceId);
    const batch = spans.find(
      (s) => s.name === `process ${topics.events}` && s.spanContext().traceId === traceId,
    );
    assert.ok(
      batch,
      `a processor span in the trace; spans: ${spans.map((s) => s.name).join(', ')}`,
    );
    assert.equal(batch.kind, SpanKind.CONSUMER);
    assert.equal(batch.parentSpanContext?.spanId, send.spanContext().spanId);
    const stored = spans.find(
      (s) => s.name === 'store events' && s.spanContext().traceId === traceId,
    );
    assert.ok(stored, 'the transaction storing the event is a span of the trace');
    assert.equal(stored.kind, SpanKind.CLIENT);
  });
});
