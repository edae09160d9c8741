// Trace context through a real Kafka topic: what a producer stamps on its messages reaches the
// consumer's batch span intact.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { IHeaders } from 'kafkajs';
import { processWithTrace, sendWithTrace } from '@telemetrypulse/shared';
import { createTestTopics, recordSpans, testKafka } from '@telemetrypulse/devstack/test';

/** Consumes `count` messages batch by batch, each batch inside processWithTrace. */
async function consumeTraced(topic: string, count: number): Promise<IHeaders[]> {
  const consumer = testKafka().consumer({ groupId: `trace-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: IHeaders[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`consumed ${seen.length} of ${count} messages`));
      }, 30_000);
      void consumer.run({
        eachBatch: ({ batch }) =>
          processWithTrace(topic, batch.messages, () => {
            for (const m of batch.messages) seen.push(m.headers ?? {});
            if (seen.length >= count) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          }),
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

describe('trace context through Kafka (real broker)', () => {
  const recorded = recordSpans('test');

  it('when two batches are produced and consumed, then the consumer span shares the first producer trace and links the second', async () => {
    const { events: topic } = await createTestTopics(1);
    const producer = testKafka().producer();
    await producer.connect();
    try {
      for (const batch of [0, 1]) {
        await sendWithTrace(topic, 3, (headers) =>
          producer.send({
            topic,
            messages: [0, 1, 2].map((i) => ({ key: `k${i}`, value: `${batch}-${i}`, headers })),
          }),
        );
      }
    } finally {
      await producer.disconnect();
    }

    const consumed = await consumeTraced(topic, 6);
    const spans = await recorded.finished();
    const producers = spans.filter((s) => s.name === `send ${topic}`);
    const consumers = spans.filter((s) => s.name === `process ${topic}`);
    assert.equal(producers.length, 2);
    assert.ok(consumers.length >= 1);

    // Every message arrived with its producer span's traceparent.
    const parents = consumed.map((h) => h.traceparent?.toString().split('-')[2]);
    assert.deepEqual(parents, [
      ...Array<string | undefined>(3).fill(producers[0]?.spanContext().spanId),
      ...Array<string | undefined>(3).fill(producers[1]?.spanContext().spanId),
    ]);
    // Each producer span is reached from a consumer span: as its parent (same trace) or a link.
    for (const producer of producers) {
      const { traceId, spanId } = producer.spanContext();
      const reached = consumers.some(
        (c) =>
          (c.spanContext().traceId === traceId && c.parentSpanContext?.spanId === spanId) ||
          c.links.some((l) => l.context.spanId === spanId && l.context.traceId === traceId),
      );
      assert.ok(reached, `producer span ${spanId} is neither parent nor link of a consumer span`);
    }
    // The first batch's consumer span continues the first producer's trace.
    assert.equal(consumers[0]?.spanContext().traceId, producers[0]?.spanContext().traceId);
  });
});
