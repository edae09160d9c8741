import { randomBytes, randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { ensureTopics, type TelemetryEvent } from '@telemetrypulse/shared';

export interface TestTopics {
  events: string;
  dlq: string;
  alerts: string;
}

export function testBrokers(): string {
  const brokers = process.env.TEST_KAFKA_BROKERS;
  if (!brokers)
    throw new Error('TEST_KAFKA_BROKERS is not set: run tests through mocha with .mocharc.json');
  return brokers;
}

export function testKafka(): Kafka {
  return new Kafka({ brokers: [testBrokers()], logLevel: logLevel.NOTHING, clientId: 'test' });
}

/** Topics of their own for one test, so tests sharing the broker never see each other's data. */
export async function createTestTopics(partitions = 3): Promise<TestTopics> {
  const suffix = randomBytes(4).toString('hex');
  const topics = {
    events: `test.${suffix}.events`,
    dlq: `test.${suffix}.dlq`,
    alerts: `test.${suffix}.alerts`,
  };
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await ensureTopics(
      admin,
      Object.values(topics).map((topic) => ({ topic, numPartitions: partitions })),
    );
  } finally {
    await admin.disconnect();
  }
  return topics;
}

/**
 * True when the group has committed every partition of the topic up to its end. `kafka` is the
 * suite's broker unless a test runs one of its own.
 */
export async function groupCaughtUp(
  groupId: string,
  topic: string,
  kafka: Kafka = testKafka(),
): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const byPartition = new Map(committed?.partitions.map((p) => [p.partition, p.offset]));
    return ends.every((end) => end.high === '0' || byPartition.get(end.partition) === end.high);
  } catch (error) {
    // A topic created moments ago may briefly answer "not the leader": not caught up yet.
    if ((error as { retriable?: unknown }).retriable === true) return false;
    throw error;
  } finally {
    await admin.disconnect();
  }
}

export interface ReadMessage {
  key: string | null;
  value: string;
}

export interface RawMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Reads the first `count` messages of a topic, as bytes, with a throwaway consumer group. */
export async function readRawTopic(topic: string, count: number): Promise<RawMessage[]> {
  const consumer = testKafka().consumer({ groupId: `reader-${randomUUID()}` });
  const messages: RawMessage[] = [];
  if (count === 0) return messages;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`read ${messages.length} of ${count} messages from ${topic}`));
      }, 30_000);
      void consumer.run({
        eachMessage: ({ message }) => {
          const headers = Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
          );
          messages.push({ key: message.key, value: message.value, headers });
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

/** Reads the first `count` messages of a topic as text. */
export async function readTopic(topic: string, count: number): Promise<ReadMessage[]> {
  return (await readRawTopic(topic, count)).map((m) => ({
    key: m.key?.toString() ?? null,
    value: m.value?.toString() ?? '',
  }));
}

/** Publishes events as the simulator does: JSON, keyed by device id, acknowledged by all replicas. */
export async function produceEvents(
  topic: string,
  events: readonly TelemetryEvent[],
  kafka: Kafka = testKafka(),
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    // In slices, so a large test load stays under the broker's request size limit.
    for (let i = 0; i < events.length; i += 2000) {
      await producer.send({
        topic,
        acks: -1,
        messages: events
          .slice(i, i + 2000)
          .map((e) => ({ key: e.device_id, value: JSON.stringify(e) })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** How many records a topic holds, over all its partitions. */
export async function topicSize(topic: string): Promise<number> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}
