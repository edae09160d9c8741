// The real processor program on the suite's Kafka and PostgreSQL prints nothing but its JSON log
// lines: no warning of a dependency reaches the terminal unstructured. In particular not kafkajs
// 2.2.4's TimeoutNegativeWarning (fixed in apps/shared/src/kafkajs-request-queue.ts), which Node
// prints on stderr after the first response of a broker.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  groupCaughtUp,
  produceEvents,
  rawCounts,
  syntheticEvents,
  testBrokers,
  testKafka,
  usePipelineFixture,
  waitUntil,
} from '@telemetrypulse/devstack/test';
import { spawnProcessor } from '../processor-process.ts';

/** The lines of `text` that are not a JSON object. */
function unstructured(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .filter((line) => {
      try {
        const parsed: unknown = JSON.parse(line);
        return typeof parsed !== 'object' || parsed === null || Array.isArray(parsed);
      } catch {
        return true;
      }
    });
}

describe('processor output (real processor, Kafka and PostgreSQL)', () => {
  const fx = usePipelineFixture(3);

  it('when the processor starts, stores several batches, dead-letters a malformed message and stops, then its stderr is empty and every stdout line is a JSON log line', async () => {
    const { db, topics } = fx;
    const groupId = `stderr-${randomUUID()}`;
    const processor = spawnProcessor({
      brokers: testBrokers(),
      databaseUrl: db.url,
      topics,
      groupId,
      // info, so the normal startup and shutdown lines are there to be checked.
      env: { LOG_LEVEL: 'info' },
    });
    fx.processors.push(processor);
    let stdout = '';
    let stderr = '';
    processor.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    processor.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

    // Batches one after the other, so the consumer fetches, stores and commits several times.
    let stored = 0;
    for (const round of [1, 2, 3]) {
      const events = syntheticEvents(300, `site-stderr-${round}`);
      await produceEvents(topics.events, events);
      stored += events.length;
      await waitUntil(`batch ${round} stored`, async () => (await rawCounts(db)).rows >= stored);
    }
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({ topic: topics.events, acks: -1, messages: [{ value: 'not json' }] });
    await producer.disconnect();
    await waitUntil('the group caught up', () => groupCaughtUp(groupId, topics.events), 90_000);

    processor.child.kill('SIGTERM');
    assert.equal(await processor.exited, 0, processor.output());
    assert.equal((await rawCounts(db)).rows, stored);

    assert.doesNotMatch(stderr, /TimeoutNegativeWarning/);
    assert.deepEqual(unstructured(stderr), [], 'no unstructured line on stderr');
    assert.equal(stderr, '', 'nothing on stderr');
    assert.deepEqual(unstructured(stdout), [], 'no unstructured line on stdout');
    assert.match(stdout, /"service":"processor"/);
  });
});
