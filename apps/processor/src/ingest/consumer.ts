import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import {
  parseEventTime,
  processWithTrace,
  schemaDefault,
  type Logger,
  type Sql,
  type ValidationLimits,
} from '@telemetrypulse/shared';
import type { AlertRules } from '../alerts/rules.ts';
import { ProcessorEnv } from '../config.ts';
import { trackConsumerLag } from '../ops/lag.ts';
import { createProcessorMetrics, reasonLabel, type ProcessorMetrics } from '../ops/metrics.ts';
import { createStuckWatch, type StuckWatch } from '../ops/stuck.ts';
import { decodeBatch } from './batch.ts';
import { refusalReason } from './db-errors.ts';
import { timeTransaction } from './db-transaction.ts';
import { sendDeadLetters, type Letter, type LetterLimits } from './dlq.ts';
import { followGroupShare } from './group-share.ts';
import { GaveUp, retryWatched } from './retry.ts';
import { storeBatch } from './store.ts';
import { createWriter, type RefusedEvent, type StoredGroup, type Writer } from './writer.ts';

const DEFAULT_LATE_AFTER_MS = schemaDefault(ProcessorEnv, 'LATE_AFTER_SECONDS') * 1000;
const DEFAULT_LETTER_LIMITS: LetterLimits = {
  maxPayloadBytes: schemaDefault(ProcessorEnv, 'DLQ_MAX_PAYLOAD_BYTES'),
};
const DEFAULT_STUCK_AFTER_MS = schemaDefault(ProcessorEnv, 'STUCK_AFTER_SECONDS') * 1000;
/**
 * Fetch sizes bound the memory a replica holds: one fetch response is decoded into messages at
 * a time. 2 MiB is some 8,000 events of 250 bytes, plenty to keep the database busy while the
 * previous group is stored; larger fetches only grew the heap.
 */
export const FETCH_OPTIONS = {
  maxBytes: 2 * 1024 * 1024,
  maxBytesPerPartition: 512 * 1024,
} as const;
/** Events that may wait, in all lanes, behind the groups being stored before intake pauses. */
const MAX_WAITING_EVENTS = 8_000;

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
  /**
   * Store transactions the group keeps in flight at once, shared among its replicas (each keeps
   * at least one; group-share.ts), over distinct partitions; default STORE_TRANSACTIONS_IN_FLIGHT's.
   */
  transactionsInFlight?: number;
  /**
   * Events older than this at arrival are late: still stored in their window, and counted;
   * default LATE_AFTER_SECONDS's.
   */
  lateAfterMs?: number;
  /** How long the group waits for a silent member before rebalancing; default KAFKA_SESSION_TIMEOUT_MS's. */
  sessionTimeoutMs?: number;
  /** What a dead letter carries at most; default DLQ_MAX_PAYLOAD_BYTES's. */
  letterLimits?: LetterLimits;
  /** Retries failing for longer than this count as stuck; default STUCK_AFTER_SECONDS's. */
  stuckAfterMs?: number;
}

export interface Processor {
  /** Joined the group and not stopping. */
  isRunning(): boolean;
  /** Finishes the in-flight batches, commits, leaves the group. */
  stop(): Promise<void>;
}

/**
 * Consumes the events topic. Each Kafka batch is decoded, its rejects go to the dead-letter
 * topic, and its valid events join the writer's next group: one transaction stores the group,
 * and only then are its offsets committed, so a crash at any point means redelivery, which the
 * store absorbs. While a group is being stored the consumer already fetches and decodes the
 * next batches (see writer.ts).
 */
export async function startProcessor(options: ProcessorOptions): Promise<Processor> {
  const { kafka, logger, topics } = options;
  const metrics = createProcessorMetrics(options.registry);
  const stuck = createStuckWatch({
    registry: options.registry,
    logger,
    stuckAfterMs: options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS,
  });
  const sessionTimeout =
    options.sessionTimeoutMs ?? schemaDefault(ProcessorEnv, 'KAFKA_SESSION_TIMEOUT_MS');
  const heartbeatInterval = Math.min(3_000, Math.floor(sessionTimeout / 6));
  // Not kafkajs's idempotent mode: it can desynchronise its sequence numbers for good
  // (OUT_OF_ORDER_SEQUENCE_NUMBER). A rare repeated message is harmless downstream.
  const producer: Producer = kafka.producer({
    allowAutoTopicCreation: false,
  });
  const letters: LetterSending = {
    producer,
    topic: topics.dlq,
    limits: options.letterLimits ?? DEFAULT_LETTER_LIMITS,
    metrics,
    logger,
  };
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    allowAutoTopicCreation: false,
    sessionTimeout,
    heartbeatInterval,
    ...FETCH_OPTIONS,
  });
  let running = false;
  let stopping = false;
  // The most recent batch's heartbeat: any of them keeps the member alive.
  let heartbeat: () => Promise<void> = () => Promise.resolve();

  const transactionBudget =
    options.transactionsInFlight ?? schemaDefault(ProcessorEnv, 'STORE_TRANSACTIONS_IN_FLIGHT');
  const writer = createWriter({
    logger,
    store: (events) =>
      timeTransaction(metrics.transactionSeconds, events.length, () =>
        storeBatch(options.sql, events, options.rules),
      ),
    deadLetter: (refused) => deadLetterRefused(letters, refused),
    commit: (offsets) => consumer.commitOffsets(offsets),
    keepGoing: () => !stopping,
    heartbeat: () => heartbeat(),
    onRetry: (error, attempt, delayMs) => {
      metrics.storeRetries.inc();
      logger.warn({ err: error, attempt, delayMs }, 'storing a batch group failed; retrying');
    },
    episode: (stage) => stuck.episode(stage),
    onStored: (group) => {
      recordStored(group, metrics, options.lateAfterMs ?? DEFAULT_LATE_AFTER_MS);
    },
    maxWaitingEvents: MAX_WAITING_EVENTS,
    heartbeatIntervalMs: heartbeatInterval,
    transactionsInFlight: transactionBudget,
  });
  const taking: TakeBatchOptions = {
    letters,
    writer,
    stuck,
    limits: options.limits,
    notStopping: () => !stopping,
  };

  await producer.connect();
  await consumer.connect();
  consumer.on(consumer.events.GROUP_JOIN, () => {
    running = true;
  });
  consumer.on(consumer.events.CRASH, (event) => {
    running = false;
    logger.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
  });
  // These listen for the group join, so before the consumer runs.
  const stopSharing = followGroupShare({
    consumer,
    budget: transactionBudget,
    limit: (count) => writer.limitTransactions(count),
    gauge: metrics.storeTransactionsLimit,
    logger,
  });
  const lag = trackConsumerLag({
    consumer,
    admin: kafka.admin(),
    groupId: options.groupId,
    gauge: metrics.consumerLag,
    logger,
  });
  await consumer.subscribe({ topic: topics.events, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.partitionsConcurrently,
    eachBatch: (payload) => {
      // A plain closure in kafkajs, not a method.
      // eslint-disable-next-line @typescript-eslint/unbound-method
      heartbeat = payload.heartbeat;
      return processWithTrace(payload.batch.topic, payload.batch.messages, () =>
        takeBatch(payload, taking),
      );
    },
  });

  return {
    isRunning: () => running && !stopping && !writer.gaveUp(),
    async stop() {
      stopping = true;
      // Store and commit what was taken while still a member of the group (kafkajs drops
      // commits once its consumer stops), then leave.
      await writer.drain();
      stopSharing();
      await lag.stop();
      await consumer.disconnect();
      await producer.disconnect();
      running = false;
    },
  };
}

/** Where and how dead letters are written, and what is counted. */
interface LetterSending {
  producer: Producer;
  topic: string;
  limits: LetterLimits;
  metrics: ProcessorMetrics;
  logger: Logger;
}

/**
 * Writes letters (see dlq.ts) and counts them by reason. A letter the broker refuses even
 * without its payload is logged as an error and counted, and its message passed over: it must
 * not stop the partition.
 */
async function writeDeadLetters(
  sending: LetterSending,
  letters: readonly Letter[],
): Promise<Set<Letter>> {
  const { metrics, logger } = sending;
  const outcome = await sendDeadLetters(sending.producer, sending.topic, letters, sending.limits);
  const lost = new Set(outcome.lost.map((l) => l.letter));
  for (const { letter, error } of outcome.lost) {
    metrics.deadLettersLost.inc();
    logger.error(
      { err: error, reason: letter.reason, offset: letter.message.offset, ...letter.source },
      'the broker refused the dead letter even without its payload: the message is passed over',
    );
  }
  for (const letter of letters) {
    if (lost.has(letter)) continue;
    metrics.deadLetters.inc({ reason: reasonLabel(letter.reason) });
  }
  if (outcome.truncated > 0)
    metrics.deadLettersReduced.inc({ how: 'truncated' }, outcome.truncated);
  if (outcome.payloadDropped > 0) {
    metrics.deadLettersReduced.inc({ how: 'payload_dropped' }, outcome.payloadDropped);
    logger.warn(
      { letters: outcome.payloadDropped },
      'the broker refused dead letters with their payload: sent without it',
    );
  }
  return lost;
}

/** Valid events the database refused: to the dead-letter topic with the database's reason. */
async function deadLetterRefused(
  sending: LetterSending,
  refused: readonly RefusedEvent[],
): Promise<void> {
  const letters = refused.map((r) => ({
    message: r.message,
    reason: refusalReason(r.error),
    source: r.source,
  }));
  const lost = await writeDeadLetters(sending, letters);
  for (const letter of letters) {
    if (lost.has(letter)) continue;
    sending.logger.warn(
      { reason: letter.reason, offset: letter.message.offset, ...letter.source },
      'event refused by the database sent to the dead-letter topic',
    );
  }
}

/** What every batch is taken with. */
interface TakeBatchOptions {
  letters: LetterSending;
  writer: Writer;
  stuck: StuckWatch;
  limits: ValidationLimits;
  /** False once the processor is stopping: take nothing more. */
  notStopping: () => boolean;
}

/** Decodes a batch, dead-letters its rejects and hands its valid events to the writer. */
async function takeBatch(
  // kafkajs hands these over as plain closures, not methods.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  { batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload,
  options: TakeBatchOptions,
): Promise<void> {
  const { writer, notStopping } = options;
  const { metrics, logger } = options.letters;
  if (batch.isEmpty() || !notStopping()) return;
  const source = { topic: batch.topic, partition: batch.partition };
  const receivedAt = Date.now();
  const decoded = decodeBatch(batch.messages, receivedAt, options.limits);
  if (decoded.rejected.length > 0) {
    const letters = decoded.rejected.map((r) => ({ ...r, source }));
    let lost: Set<Letter>;
    try {
      lost = await retryWatched(
        () => writeDeadLetters(options.letters, letters),
        {
          keepGoing: () => isRunning() && !isStale() && notStopping(),
          heartbeat,
          onRetry: (error: unknown, attempt: number, delayMs: number) => {
            logger.warn(
              { err: error, attempt, delayMs, ...source },
              'dead-lettering failed; retrying',
            );
          },
        },
        options.stuck.episode('dead_letter'),
      );
    } catch (error) {
      // Nothing taken: the batch is read again by whoever owns the partition next.
      if (error instanceof GaveUp) return;
      throw error;
    }
    for (const r of letters) {
      metrics.invalid.inc({ reason: reasonLabel(r.reason) });
      if (lost.has(r)) continue;
      logger.warn(
        { reason: r.reason, offset: r.message.offset, ...source },
        'invalid event sent to the dead-letter topic',
      );
    }
  }
  const taken = writer.add({
    source,
    nextOffset: (BigInt(batch.lastOffset()) + 1n).toString(),
    events: decoded.events,
    origins: decoded.origins,
    messages: batch.messages.length,
    receivedAt,
  });
  if (!taken) return;
  // The consumer may fetch past this batch now; its offset is committed once it is stored.
  resolveOffset(batch.lastOffset());
  await writer.waitForRoom();
}

/** Metrics of a group that is stored and committed. */
function recordStored(group: StoredGroup, metrics: ProcessorMetrics, lateAfterMs: number): void {
  const { batches, result, storedAt } = group;
  for (const b of batches) {
    metrics.consumed.inc(b.messages);
    metrics.batchSize.observe(b.messages);
    metrics.batchSeconds.observe((storedAt - b.receivedAt) / 1000);
  }
  metrics.stored.inc(result.stored.length);
  metrics.duplicates.inc(result.duplicates);
  // Late: older than lateAfterMs when its batch arrived. Repeats that were already stored, and
  // events the database refused, count neither as late nor in the latency.
  const events = batches.reduce((n, b) => n + b.events.length, 0);
  const stored = result.stored.length === events ? undefined : new Set(result.stored);
  let late = 0;
  for (const b of batches) {
    const lateBefore = b.receivedAt - lateAfterMs;
    for (const e of b.events) {
      if (stored && !stored.has(e)) continue;
      const tsMs = parseEventTime(e.ts_event);
      if (tsMs < lateBefore) late++;
      metrics.eventToStoredSeconds.observe((storedAt - tsMs) / 1000);
    }
  }
  metrics.late.inc(late);
  for (const incident of result.incidents) {
    if (incident.alertId === undefined) {
      metrics.alerts.inc({ alert_type: incident.alertType, transition: 'opened' });
    }
    if (incident.resolvedAtMs !== undefined) {
      metrics.alerts.inc({ alert_type: incident.alertType, transition: 'resolved' });
    }
  }
}
