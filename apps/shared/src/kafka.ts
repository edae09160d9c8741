import { Kafka, logLevel, type LogEntry, type Admin } from 'kafkajs';
import { splitList } from './config.ts';
import type { Logger } from './log.ts';
import type { TopicSpec } from './contract/topics.ts';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export interface KafkaOptions {
  brokers: string;
  clientId: string;
  logger: Logger;
}

/** A kafkajs client whose own log lines go through the service's pino logger. */
export function createKafka({ brokers, clientId, logger }: KafkaOptions): Kafka {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId,
    brokers: splitList(brokers),
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 300, retries: 8 },
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...extra } = log;
        kafkaLogger[LEVELS[level] ?? 'info'](extra, message);
      },
  });
}

/**
 * Creates the topics that are missing (existing ones are left as they are) and waits until every
 * partition has a leader. kafkajs's own waitForLeaders is not used: on Kafka 4 it can fail with an
 * unhandled UNKNOWN_TOPIC_OR_PARTITION while the new topic's metadata propagates.
 */
export async function ensureTopics(
  admin: Admin,
  specs: readonly TopicSpec[],
  timeoutMs = 30_000,
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length > 0) {
    try {
      await admin.createTopics({
        waitForLeaders: false,
        topics: missing.map((s) => ({ topic: s.topic, numPartitions: s.numPartitions })),
      });
    } catch (error) {
      // Another replica may have created them between the list and the create.
      if ((error as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw error;
    }
  }
  const topics = specs.map((s) => s.topic);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Leaders in the metadata, then every partition answering a leader-only request (offsets).
    const ready = await admin
      .fetchTopicMetadata({ topics })
      .then(async (m) => {
        const led = m.topics.every(
          (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0),
        );
        if (led) await Promise.all(topics.map((t) => admin.fetchTopicOffsets(t)));
        return led;
      })
      .catch(() => false);
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leaders yet`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
