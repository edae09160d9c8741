import { Kafka, logLevel, type LogEntry, type Admin } from 'kafkajs';
import { ConfigError, splitList } from './config.ts';
import type { Logger } from './log.ts';
import type { TopicSpec } from './contract/topics.ts';
import { patchKafkajsRequestQueue } from './kafkajs-request-queue.ts';
import {
  classifyNetworkError,
  errorChain,
  NotReadyYet,
  waitForDependency,
  type Verdict,
  type WaitOptions,
} from './wait.ts';

// Before any client connects: kafkajs 2.2.4 sets a timer with a negative delay after each response
// (Node's TimeoutNegativeWarning on stderr and a 1 ms polling loop), see kafkajs-request-queue.ts.
// Every app loads this module through @telemetrypulse/shared, so every kafkajs client of the
// process, also one made with `new Kafka` elsewhere, gets the fix.
patchKafkajsRequestQueue();

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

/** Retry verdict for a failed connect or metadata request of kafkajs. */
export function classifyKafkaError(error: unknown): Verdict {
  for (const e of errorChain(error)) {
    const name = e instanceof Error ? e.name : '';
    if (name === 'KafkaJSSASLAuthenticationError') {
      return {
        retry: false,
        code: 'SASL_AUTHENTICATION_FAILED',
        hint: 'check the Kafka credentials',
      };
    }
  }
  const network = classifyNetworkError(error);
  if (network.retry) return network;
  for (const e of errorChain(error)) {
    if (!(e instanceof Error) || !e.name.startsWith('KafkaJS')) continue;
    // The retry wrapper of kafkajs says "non-retriable" for any error once retries ran out.
    if (e.name === 'KafkaJSNumberOfRetriesExceeded') continue;
    const { retriable, type } = e as { retriable?: unknown; type?: unknown };
    // A protocol error's type (LEADER_NOT_AVAILABLE, …), else the class: KafkaJSConnectionError
    // (e.g. "Connection timeout") reads CONNECTION_ERROR.
    const code =
      typeof type === 'string'
        ? type
        : e.name
            .replace(/^KafkaJS/, '')
            .replace(/([a-z])([A-Z])/g, '$1_$2')
            .toUpperCase();
    return { retry: retriable === true, code };
  }
  return network;
}

/** Checks KAFKA_BROKERS before any connection: every entry must be host:port. */
export function brokerList(brokers: string): string[] {
  const list = splitList(brokers);
  const bad = list.filter((b) => !/^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):\d{1,5}$/.test(b));
  if (list.length === 0 || bad.length > 0) {
    throw new ConfigError(
      `invalid configuration:\n  KAFKA_BROKERS must list host:port entries (got ${JSON.stringify(brokers)})`,
    );
  }
  return list;
}

/**
 * Waits until a broker of `brokers` answers a metadata request naming at least one broker. Its
 * own quiet client (one connection, no retries of its own): the attempts are logged by the wait.
 */
export async function waitForKafka(
  brokers: string,
  {
    clientId = 'telemetrypulse-startup',
    ...options
  }: Omit<WaitOptions, 'classify'> & {
    clientId?: string;
  },
): Promise<void> {
  const kafka = new Kafka({
    clientId,
    brokers: brokerList(brokers),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
  await waitForDependency(
    'Kafka',
    brokers,
    async () => {
      const admin = kafka.admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        if (cluster.brokers.length === 0) {
          throw new NotReadyYet('the broker lists no brokers yet', 'NO_BROKERS');
        }
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    { classify: classifyKafkaError, ...options },
  );
}
