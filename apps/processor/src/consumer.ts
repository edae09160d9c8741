import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Logger, Sql, ValidationLimits } from '@telemetrypulse/shared';
import { decodeBatch } from './batch.ts';
import { sendToDeadLetters } from './dlq.ts';
import { createProcessorMetrics, reasonLabel, type ProcessorMetrics } from './metrics.ts';
import { GaveUp, retryUntilDone } from './retry.ts';
import type { AlertRules } from './rules.ts';
import { storeBatch } from './store.ts';

const DEFAULT_LATE_AFTER_MS = 300_000;

export interface ProcessorOptions {
  kafka: Kafka;
  sql: Sql;
  logger: Logger;
  registry: Registry;
  topics: { events: string; dlq: string };
  groupId: string;
  limits: ValidationLimits;
  /** The alert rules: one list for every site, or the live per-site rules. */
  rules: AlertRules;
  /** How many partitions' batches are processed at once. */
  partitionsConcurrently: number;
  /** Events older than this at arrival are late: still stored in their window, and counted. */
  lateAfterMs?: number;
  /** How long the group waits for a silent member before rebalancing; default 30 s. */
  sessionTimeoutMs?: number;
}

export interface Processor {
  /** Joined the group and not stopping. */
  isRunning(): boolean;
  /** Finishes the in-flight batches, commits, leaves the group. */
  stop(): Promise<void>;
}

/**
 * Consumes the events topic batch by batch. For each batch: rejects go to the dead-letter topic,
 * the valid events are stored in one transaction, and only then is the offset committed, so a
 * crash at any point means redelivery, which the store absorbs.
 */
export async function startProcessor(options: ProcessorOptions): Promise<Processor> {
  const { kafka, logger, topics } = options;
  const metrics = createProcessorMetrics(options.registry);
  // Not kafkajs's idempotent mode: it can desynchronise its sequence numbers for good
  // (OUT_OF_ORDER_SEQUENCE_NUMBER). A rare repeated message is harmless downstream.
  const producer: Producer = kafka.producer({
    allowAutoTopicCreation: false,
  });
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: Math.min(3_000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 6)),
    maxBytesPerPartition: 4 * 1024 * 1024,
  });
  let running = false;
  let stopping = false;

  await producer.connect();
  await consumer.connect();
  consumer.on(consumer.events.GROUP_JOIN, () => {
    running = true;
  });
  consumer.on(consumer.events.CRASH, (event) => {
    running = false;
    logger.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
  });
  await consumer.subscribe({ topic: topics.events, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.partitionsConcurrently,
    eachBatch: (payload) =>
      processBatch(payload, options, consumer, producer, metrics, () => !stopping),
  });

  return {
    isRunning: () => running && !stopping,
    async stop() {
      stopping = true;
      // disconnect() waits for the batches in flight, which commit before it returns.
      await consumer.disconnect();
      await producer.disconnect();
      running = false;
    },
  };
}

async function processBatch(
  // kafkajs hands these over as plain closures, not methods.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  { batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload,
  options: ProcessorOptions,
  consumer: Consumer,
  producer: Producer,
  metrics: ProcessorMetrics,
  notStopping: () => boolean,
): Promise<void> {
  if (batch.isEmpty()) return;
  const { logger } = options;
  const endTimer = metrics.batchSeconds.startTimer();
  const source = { topic: batch.topic, partition: batch.partition };
  const receivedAt = Date.now();
  const decoded = decodeBatch(batch.messages, receivedAt, options.limits);
  const control = {
    keepGoing: () => isRunning() && !isStale() && notStopping(),
    heartbeat,
    onRetry: (error: unknown, attempt: number, delayMs: number) => {
      metrics.storeRetries.inc();
      logger.warn({ err: error, attempt, delayMs, ...source }, 'batch failed; retrying');
    },
  };
  try {
    await retryUntilDone(
      () => sendToDeadLetters(producer, options.topics.dlq, decoded.rejected, source),
      control,
    );
    const result = await retryUntilDone(
      () => storeBatch(options.sql, decoded.events, options.rules),
      control,
    );
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    await consumer.commitOffsets([{ ...source, offset: next }]);
    resolveOffset(batch.lastOffset());

    metrics.consumed.inc(batch.messages.length);
    metrics.batchSize.observe(batch.messages.length);
    metrics.stored.inc(result.stored.length);
    const lateBefore = receivedAt - (options.lateAfterMs ?? DEFAULT_LATE_AFTER_MS);
    metrics.late.inc(result.stored.filter((e) => Date.parse(e.ts_event) < lateBefore).length);
    const storedAt = Date.now();
    for (const e of result.stored) {
      metrics.eventToStoredSeconds.observe((storedAt - Date.parse(e.ts_event)) / 1000);
    }
    metrics.duplicates.inc(result.duplicates);
    metrics.deadLetters.inc(decoded.rejected.length);
    for (const r of decoded.rejected) metrics.invalid.inc({ reason: reasonLabel(r.reason) });
    for (const incident of result.incidents) {
      if (incident.alertId === undefined) {
        metrics.alerts.inc({ alert_type: incident.alertType, transition: 'opened' });
      }
      if (incident.resolvedAtMs !== undefined) {
        metrics.alerts.inc({ alert_type: incident.alertType, transition: 'resolved' });
      }
    }
    for (const r of decoded.rejected) {
      logger.warn(
        { reason: r.reason, offset: r.message.offset, ...source },
        'invalid event sent to the dead-letter topic',
      );
    }
  } catch (error) {
    // Nothing was committed: the batch is read again by whoever owns the partition next.
    if (error instanceof GaveUp) {
      logger.info(source, 'batch abandoned uncommitted (shutdown or rebalance)');
      return;
    }
    throw error;
  } finally {
    endTimer();
  }
}
