// The simulator's producer spans reach a consumer through a real Kafka topic: every event
// carries the traceparent of the send that published it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { createLogger, processWithTrace, type TelemetryEvent } from '@telemetrypulse/shared';
import { createTestTopics, recordSpans, testKafka } from '@telemetrypulse/devstack/test';
import { startSimulator } from '../../src/publisher.ts';

describe('simulator tracing (real Kafka)', () => {
  const recorded = recordSpans('simulator');

  it('when the simulator publishes, then each consumer batch span shares the trace of a simulator send span', async () => {
    const topics = await createTestTopics(3);
    const simulator = await startSimulator({
      kafka: testKafka(),
      topic: topics.events,
      site: {
        siteId: 'site-trace',
        zones: ['zone-01'],
        devicesPerZone: 2,
        sensors: ['co2', 'temperature'],
        anomalyRate: 0,
        seed: 7,
      },
      eventsPerSecond: 500,
      maxEvents: 200,
      maxBatch: 40,
      logger: createLogger('test', 'silent'),
      registry: new Registry(),
    });
    assert.equal((await simulator.done).sent, 200);

    const consumer = testKafka().consumer({ groupId: `trace-${randomUUID()}` });
    const parentOfEvent = new Map<string, string>();
    await consumer.connect();
    await consumer.subscribe({ topic: topics.events, fromBeginning: true });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`consumed ${parentOfEvent.size} of 200 events`));
        }, 30_000);
        void consumer.run({
          eachBatch: ({ batch }) =>
            processWithTrace(topics.events, batch.messages, () => {
              for (const m of batch.messages) {
                const event = JSON.parse(String(m.value)) as TelemetryEvent;
                parentOfEvent.set(event.event_id, String(m.headers?.traceparent));
              }
              if (parentOfEvent.size >= 200) {
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

    const spans = await recorded.finished();
    const sends = spans.filter((s) => s.name === `send ${topics.events}`);
    const batches = spans.filter((s) => s.name === `process ${topics.events}`);
    assert.ok(sends.length >= 5, `${sends.length} send spans for 200 events in batches of 40`);
    const sendIds = new Set(
      sends.map((s) => `${s.spanContext().traceId}-${s.spanContext().spanId}`),
    );
    // Every event names a simulator send span as its parent.
    for (const traceparent of parentOfEvent.values()) {
      const [, traceId, spanId] = traceparent.split('-');
      assert.ok(sendIds.has(`${traceId}-${spanId}`), `unknown traceparent ${traceparent}`);
    }
    // Every consumer batch span continues a send span's trace, as its child.
    assert.ok(batches.length >= 1);
    for (const batch of batches) {
      const parent = batch.parentSpanContext;
      assert.ok(parent, 'batch span without a parent');
      assert.ok(sendIds.has(`${batch.spanContext().traceId}-${parent.spanId}`));
    }
  });
});
