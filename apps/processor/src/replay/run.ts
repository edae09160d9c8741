// The DLQ replay run: dead-letter topic → original messages back onto the events topic.
import type { Admin, Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { Logger } from '@telemetrypulse/shared';
import {
  addToTally,
  emptyTally,
  planBatch,
  type ReplayFilter,
  type ReplayTally,
} from './record.ts';

export const REPLAY_GROUP = 'telemetry-dlq-replay';

export interface ReplayRequest {
  kafka: Kafka;
  /** The dead-letter topic read. */
  from: string;
  /** The topic the originals are published to. */
  to: string;
  /** Its committed offsets are what earlier runs already handled. */
  groupId?: string;
  /** Read and count only: publish nothing, commit nothing. */
  dryRun?: boolean;
  reason?: RegExp | undefined;
  /** Replay at most this many messages. */
  limit?: number | undefined;
  logger: Logger;
  /** Aborting finishes the batch in hand (published and committed), then stops. */
  signal?: AbortSignal;
  /** Fail when no batch arrives for this long while partitions are still short of their end. */
  idleTimeoutMs?: number;
}

export type StopCause = 'end' | 'limit' | 'signal';

export interface ReplaySummary extends ReplayTally {
  dryRun: boolean;
  stoppedBy: StopCause;
}

interface PartitionRange {
  /** The next offset to handle. */
  next: string;
  /** The end offset captured at start. */
  end: string;
}

/**
 * Replays the dead letters added since the last run, up to the end offsets seen at start, then
 * returns. Each batch is published (acks from all replicas) before its offsets are committed
 * under the replay group, so a crash repeats at most one batch — which the processor's
 * deduplication on event_id absorbs — and a finished run never replays the same letter again.
 * Letters the filter does not select are committed past as well: to revisit them, use another
 * group, which starts from the beginning of the topic.
 */
export async function replayDeadLetters(request: ReplayRequest): Promise<ReplaySummary> {
  const { kafka, from, to, logger } = request;
  const groupId = request.groupId ?? REPLAY_GROUP;
  const dryRun = request.dryRun ?? false;
  const ranges = await pendingRanges(kafka, { from, to }, groupId);
  logger.info({ from, to, groupId, dryRun, ranges: Object.fromEntries(ranges) }, 'replay starts');
  if (ranges.size === 0 || request.limit === 0)
    return { ...emptyTally(), dryRun, stoppedBy: 'end' };

  // Not kafkajs's idempotent mode: it can desynchronise its sequence numbers for good
  // (OUT_OF_ORDER_SEQUENCE_NUMBER). A rare repeated message is harmless downstream.
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
  });
  const consumer = kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    // A batch command fails and is run again (it resumes from its commits); it does not loop.
    retry: { retries: 5, restartOnFailure: () => Promise.resolve(false) },
  });
  if (!dryRun) await producer.connect();
  try {
    await consumer.connect();
    const { tally, stoppedBy } = await consumeUntilEnd({
      request,
      ranges,
      consumer,
      producer,
      dryRun,
    });
    logger.info({ ...tally, dryRun, stoppedBy }, 'replay finished');
    return { ...tally, dryRun, stoppedBy };
  } finally {
    // The consumer first: it waits for the batch in hand, which may still publish.
    await consumer.disconnect();
    if (!dryRun) await producer.disconnect();
  }
}

/** Per partition, from the group's committed offset to the end offset now; empty ones left out. */
async function pendingRanges(
  kafka: Kafka,
  topics: { from: string; to: string },
  groupId: string,
): Promise<Map<number, PartitionRange>> {
  const topic = topics.from;
  const admin: Admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    for (const name of [topics.from, topics.to]) {
      if (!existing.has(name)) throw new Error(`topic ${name} does not exist`);
    }
    const { groups } = await admin.describeGroups([groupId]);
    const members = groups[0]?.members.length ?? 0;
    if (members > 0) {
      throw new Error(
        `consumer group ${groupId} has ${members} active member(s): is a replay running?`,
      );
    }
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const done = new Map(committed?.partitions.map((p) => [p.partition, BigInt(p.offset)]));
    const ranges = new Map<number, PartitionRange>();
    for (const { partition, low, high } of ends) {
      const mark = done.get(partition) ?? -1n;
      // No commit yet, or the commit fell behind the topic's retention: start at the oldest kept.
      const next = mark < BigInt(low) ? BigInt(low) : mark;
      if (next < BigInt(high)) ranges.set(partition, { next: next.toString(), end: high });
    }
    return ranges;
  } finally {
    await admin.disconnect();
  }
}

interface RunParts {
  request: ReplayRequest;
  ranges: Map<number, PartitionRange>;
  consumer: Consumer;
  producer: Producer;
  dryRun: boolean;
}

/** One consumer-group session that handles each pending partition up to its end, then settles. */
async function consumeUntilEnd(
  parts: RunParts,
): Promise<{ tally: ReplayTally; stoppedBy: StopCause }> {
  const { request, ranges, consumer, producer, dryRun } = parts;
  const filter: ReplayFilter = { reason: request.reason };
  let remaining = request.limit ?? Number.POSITIVE_INFINITY;
  let tally = emptyTally();
  let stopped = false;
  let joined = false;
  let lastProgress = Date.now();
  let settle: (cause: StopCause) => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const done = new Promise<StopCause>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const stop = (cause: StopCause) => {
    stopped = true;
    settle(cause);
  };

  const handleBatch = async ({
    batch,
    // kafkajs hands these over as plain closures, not methods.
    /* eslint-disable @typescript-eslint/unbound-method */
    resolveOffset,
    heartbeat,
    pause,
    /* eslint-enable @typescript-eslint/unbound-method */
  }: EachBatchPayload): Promise<StopCause | undefined> => {
    if (stopped) return undefined;
    const range = ranges.get(batch.partition);
    if (!range) {
      // Finished, or nothing to do from the start: letters added since are for the next run.
      pause();
      return undefined;
    }
    lastProgress = Date.now();
    const source = { topic: batch.topic, partition: batch.partition };
    const plan = planBatch(batch.messages, {
      source,
      fromOffset: range.next,
      endOffset: range.end,
      filter,
      remaining,
    });
    if (plan.nextOffset !== null) {
      if (!dryRun) {
        if (plan.replay.length > 0) {
          await producer.send({ topic: request.to, acks: -1, messages: plan.replay });
        }
        await consumer.commitOffsets([{ ...source, offset: plan.nextOffset }]);
      }
      resolveOffset((BigInt(plan.nextOffset) - 1n).toString());
      range.next = plan.nextOffset;
      remaining -= plan.replay.length;
      tally = addToTally(tally, plan.handled);
      for (const letter of plan.handled) {
        if (letter.outcome === 'incomplete') {
          request.logger.warn({ ...source, offset: letter.offset }, letter.reason);
        }
      }
      request.logger.debug(
        { ...source, next: range.next, end: range.end, replayed: plan.replay.length },
        'dead-letter batch handled',
      );
    }
    if (BigInt(range.next) >= BigInt(range.end)) {
      ranges.delete(batch.partition);
      pause();
    }
    if (ranges.size === 0) return 'end';
    if (plan.limitReached || remaining <= 0) return 'limit';
    await heartbeat();
    return undefined;
  };

  const onAbort = () => {
    stop('signal');
  };
  request.signal?.addEventListener('abort', onAbort, { once: true });
  if (request.signal?.aborted) stop('signal');
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    // Another member holding some of our partitions would leave this run waiting forever.
    const assigned = new Set(payload.memberAssignment[request.from] ?? []);
    const missing = [...ranges.keys()].filter((p) => !assigned.has(p));
    if (missing.length > 0) {
      fail(new Error(`partitions ${missing.join(', ')} went to another group member`));
    }
    joined = true;
    lastProgress = Date.now();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) fail(payload.error);
  });
  const idleTimeoutMs = request.idleTimeoutMs ?? 60_000;
  const watchdog = setInterval(() => {
    if (joined && Date.now() - lastProgress > idleTimeoutMs) {
      const waiting = [...ranges.keys()].join(', ');
      fail(new Error(`no dead letters read for ${idleTimeoutMs} ms (partitions ${waiting})`));
    }
  }, 1000);

  try {
    await consumer.subscribe({ topic: request.from, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const cause = await handleBatch(payload);
        if (cause) stop(cause);
      },
    });
    const stoppedBy = await done;
    return { tally, stoppedBy };
  } finally {
    clearInterval(watchdog);
    request.signal?.removeEventListener('abort', onAbort);
  }
}
