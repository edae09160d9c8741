import { randomUUID } from 'node:crypto';
import { testKafka } from '../../devstack/src/test/kafka.ts';

/** Polls until `check` holds; fails with what it was waiting for. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** True when the group has committed every partition of the topic up to its end. */
export async function groupCaughtUp(groupId: string, topic: string): Promise<boolean> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const byPartition = new Map(committed?.partitions.map((p) => [p.partition, p.offset]));
    return ends.every((end) => end.high === '0' || byPartition.get(end.partition) === end.high);
  } finally {
    await admin.disconnect();
  }
}

export interface ReadMessage {
  key: string | null;
  value: string;
}

/** Reads the first `count` messages of a topic with a throwaway consumer group. */
export async function readTopic(topic: string, count: number): Promise<ReadMessage[]> {
  const consumer = testKafka().consumer({ groupId: `reader-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const messages: ReadMessage[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`read ${messages.length} of ${count} messages from ${topic}`));
      }, 30_000);
      void consumer.run({
        eachMessage: ({ message }) => {
          messages.push({
            key: message.key?.toString() ?? null,
            value: message.value?.toString() ?? '',
          });
          if (messages.length >= count) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return messages;
}
