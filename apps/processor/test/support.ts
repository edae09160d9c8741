import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import {
  createLogger,
  DEFAULT_ALERT_RULES,
  DEFAULT_LIMITS,
  type TelemetryEvent,
} from '@telemetrypulse/shared';
import type { TestDatabase } from '../../devstack/src/test/database.ts';
import { testKafka, type TestTopics } from '../../devstack/src/test/kafka.ts';
import { startProcessor, type Processor } from '../src/consumer.ts';

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

/** Publishes events as the simulator does: JSON, keyed by device id, acknowledged by all replicas. */
export async function produceEvents(
  topic: string,
  events: readonly TelemetryEvent[],
): Promise<void> {
  const producer = testKafka().producer();
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: events.map((e) => ({ key: e.device_id, value: JSON.stringify(e) })),
    });
  } finally {
    await producer.disconnect();
  }
}

/** A processor with the default limits and alert rules, on the test's database and topics. */
export function startTestProcessor(
  db: TestDatabase,
  topics: TestTopics,
  groupId: string,
): Promise<Processor> {
  return startProcessor({
    kafka: testKafka(),
    sql: db.sql,
    logger: createLogger('test', 'silent'),
    registry: new Registry(),
    topics,
    groupId,
    limits: DEFAULT_LIMITS,
    rules: DEFAULT_ALERT_RULES,
    partitionsConcurrently: 3,
  });
}
