import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { FETCH_OPTIONS } from '../src/ingest/consumer.ts';

/**
 * The Kafka client's ceiling: kafkajs consuming the preloaded topic with the processor's fetch
 * sizes, each message JSON-parsed and each batch's offset committed, and nothing else (no
 * validation, no database). Events per second from the first batch to the last.
 */
export async function kafkaClientEventsPerSecond(
  kafka: Kafka,
  topic: string,
  total: number,
): Promise<number> {
  const consumer = kafka.consumer({
    groupId: `bench-kafka-client-${randomUUID()}`,
    ...FETCH_OPTIONS,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let count = 0;
    let startedAt = 0;
    let parsed = 0;
    const seconds = await new Promise<number>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (startedAt === 0) startedAt = performance.now();
            for (const m of batch.messages) {
              const event = JSON.parse(m.value?.toString() ?? 'null') as unknown;
              if (event !== null) parsed++;
            }
            await consumer.commitOffsets([
              {
                topic: batch.topic,
                partition: batch.partition,
                offset: (BigInt(batch.lastOffset()) + 1n).toString(),
              },
            ]);
            count += batch.messages.length;
            if (count >= total) resolve((performance.now() - startedAt) / 1000);
          },
        })
        .catch(reject);
    });
    if (parsed !== total) throw new Error(`parsed ${parsed} of ${total} messages`);
    return total / seconds;
  } finally {
    await consumer.disconnect();
  }
}
