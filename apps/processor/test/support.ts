import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import {
  createLogger,
  DEFAULT_ALERT_RULES,
  DEFAULT_LIMITS,
  type AlertMessage,
  type TelemetryEvent,
} from '@telemetrypulse/shared';
import { createTestDatabase, type TestDatabase } from '../../devstack/src/test/database.ts';
import { createTestTopics, testKafka, type TestTopics } from '../../devstack/src/test/kafka.ts';
import { startProcessor, type Processor } from '../src/ingest/consumer.ts';
import { startOutboxPublisher } from '../src/alerts/outbox.ts';
import { startSiteRules, type SiteRules } from '../src/alerts/site-rules.ts';

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

export interface TestProcessor extends Processor {
  /** The rules the processor judges with, as it last loaded them from the sites table. */
  siteRules: SiteRules;
}

/**
 * A processor as main.ts wires it, on the test's database and topics: default limits, the
 * per-site alert rules from the sites table and the outbox publisher to the alerts topic.
 * The rules reload only on notifications (the periodic safety net is an hour away), so a test
 * that sees new rules knows the notification brought them. Stops in main.ts's order.
 */
export async function startTestProcessor(
  db: TestDatabase,
  topics: TestTopics,
  groupId: string,
): Promise<TestProcessor> {
  const logger = createLogger('test', 'silent');
  const registry = new Registry();
  const siteRules = await startSiteRules({
    sql: db.sql,
    logger,
    defaults: DEFAULT_ALERT_RULES,
    refreshMs: 3_600_000,
  });
  const outbox = await startOutboxPublisher({
    sql: db.sql,
    kafka: testKafka(),
    logger,
    registry,
    topic: topics.alerts,
    pollMs: 250,
  });
  const processor = await startProcessor({
    kafka: testKafka(),
    sql: db.sql,
    logger,
    registry,
    topics,
    groupId,
    limits: DEFAULT_LIMITS,
    rules: siteRules,
    partitionsConcurrently: 3,
  });
  return {
    siteRules,
    isRunning: () => processor.isRunning(),
    async stop() {
      await processor.stop();
      await outbox.stop();
      await siteRules.stop();
    },
  };
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

/**
 * The alert records on a topic, each alert_id + transition once, in the order first seen.
 * Copies are allowed (at least once: a crash between the send and the outbox delete repeats
 * a transition); consumers dedupe the same way.
 */
export async function publishedAlerts(
  topic: string,
): Promise<{ key: string | null; alert: AlertMessage }[]> {
  const size = await topicSize(topic);
  const seen = new Map<string, { key: string | null; alert: AlertMessage }>();
  for (const m of size === 0 ? [] : await readTopic(topic, size)) {
    const alert = JSON.parse(m.value) as AlertMessage;
    const id = `${alert.alert_id}/${alert.transition}`;
    if (!seen.has(id)) seen.set(id, { key: m.key, alert });
  }
  return [...seen.values()];
}

/** Alert transitions still waiting in the outbox. */
export async function outboxSize(db: TestDatabase): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from alert_outbox`;
  return row?.n ?? 0;
}

/** What each test of a pipeline suite gets afresh; processors pushed here are stopped after it. */
export interface PipelineFixture {
  db: TestDatabase;
  topics: TestTopics;
  processors: { stop(): Promise<void> }[];
}

/** Registers the hooks that give every test its own database and topics (3 partitions). */
export function usePipelineFixture(): PipelineFixture {
  let db: TestDatabase | undefined;
  let topics: TestTopics | undefined;
  const processors: PipelineFixture['processors'] = [];
  beforeEach(async () => {
    db = await createTestDatabase();
    topics = await createTestTopics(3);
  });
  afterEach(async () => {
    await Promise.all(processors.splice(0).map((p) => p.stop()));
    await db?.drop();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the pipeline fixture is set up in beforeEach');
    return value;
  };
  return {
    get db() {
      return ready(db);
    },
    get topics() {
      return ready(topics);
    },
    processors,
  };
}
