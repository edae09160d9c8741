// The processor's part of the test kit, imported by other apps' tests as
// `@telemetrypulse/processor/testing`: a processor wired as main.ts wires it, what it publishes,
// and its store and retention, which seed a database exactly as the processor would.
import { Registry } from 'prom-client';
import {
  createLogger,
  DEFAULT_ALERT_RULES,
  DEFAULT_LIMITS,
  type AlertMessage,
} from '@telemetrypulse/shared';
import {
  readTopic,
  testKafka,
  topicSize,
  type TestDatabase,
  type TestTopics,
} from '@telemetrypulse/devstack/test';
import { startProcessor, type Processor, type ProcessorOptions } from '../src/ingest/consumer.ts';
import { startOutboxPublisher } from '../src/alerts/outbox.ts';
import { startSiteRules, type SiteRules } from '../src/alerts/site-rules.ts';

export { storeBatch } from '../src/ingest/store.ts';
export { applyRetention } from '../src/ops/retention.ts';

/**
 * The consumer alone, without per-site rules or the outbox: default limits and rules, 3
 * partitions at once, a silent logger, its own registry and the suite's broker unless
 * `options` say otherwise. For tests of storing, not of alerting.
 */
export function startConsumerOnly(
  options: Pick<ProcessorOptions, 'sql' | 'topics' | 'groupId'> & Partial<ProcessorOptions>,
): Promise<Processor> {
  return startProcessor({
    kafka: testKafka(),
    logger: createLogger('test', 'silent'),
    registry: new Registry(),
    limits: DEFAULT_LIMITS,
    rules: DEFAULT_ALERT_RULES,
    partitionsConcurrently: 3,
    ...options,
  });
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
