import type { Logger, TelemetryEvent } from '@telemetrypulse/shared';
import type { Episode, Stage } from '../ops/stuck.ts';
import type { IncomingMessage } from './batch.ts';
import { storeIsolating, type Refusal } from './isolate.ts';
import type { Origins } from './origins.ts';
import { createLaneAssignment } from './lanes.ts';
import { GaveUp, retryWatched, type RetryControl } from './retry.ts';
import type { StoreResult } from './store.ts';

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** One Kafka batch's valid events, waiting to be stored. */
export interface PendingBatch {
  source: TopicPartition;
  /** Committed once the batch is stored: the offset after its last message. */
  nextOffset: string;
  events: TelemetryEvent[];
  /** The message each event came from, index for index. */
  origins: Origins;
  /** Messages the batch held (valid, rejected and repeated). */
  messages: number;
  receivedAt: number;
}

export interface StoredGroup {
  batches: PendingBatch[];
  result: StoreResult;
  storedAt: number;
}

export interface OffsetCommit extends TopicPartition {
  offset: string;
}

/** A valid event the database refuses: dead-lettered instead of stored. */
export interface RefusedEvent {
  event: TelemetryEvent;
  source: TopicPartition;
  message: IncomingMessage;
  /** The database's error. */
  error: unknown;
}

const NOT_WATCHED: Episode = { failing: () => undefined, end: () => undefined };

export interface WriterOptions {
  logger: Logger;
  /**
   * Stores events in one transaction. A group the database refuses for good is stored in parts,
   * without the events it refuses (isolate.ts).
   */
  store: (events: TelemetryEvent[]) => Promise<StoreResult>;
  /** Dead-letters the events the database refused; retried until done, before the commit. */
  deadLetter: (refused: RefusedEvent[]) => Promise<void>;
  /** Commits consumer offsets; called only after the events below them are stored. */
  commit: (offsets: OffsetCommit[]) => Promise<void>;
  /** False once stopping: a failing store is then given up instead of retried. */
  keepGoing: () => boolean;
  /** Keeps the consumer in its group while a store is retried or intake waits. */
  heartbeat: () => Promise<void>;
  onRetry: (error: unknown, attempt: number, delayMs: number) => void;
  /** Watches how long retries have been failing (ops/stuck.ts); not watched when absent. */
  episode?: (stage: Stage) => Episode;
  /** After a group's offsets are committed (or their commit failed and was logged). */
  onStored: (group: StoredGroup) => void;
  /** Intake pauses while this many events wait, in all lanes, behind the groups being stored. */
  maxWaitingEvents: number;
  /** How often paused intake heartbeats. */
  heartbeatIntervalMs: number;
  /**
   * Store transactions in flight at most, over distinct partitions (one per lane); default 1,
   * one group at a time.
   */
  transactionsInFlight?: number;
}

export interface Writer {
  /** Queues a batch; false once the writer takes no more (draining, or a group was given up). */
  add(batch: PendingBatch): boolean;
  /** Resolves once there is room for more batches, heartbeating while it waits. */
  waitForRoom(): Promise<void>;
  /** Takes no more batches; resolves once everything queued is stored and committed, or given up. */
  drain(): Promise<void>;
  /** True once a group was given up: nothing after it may be stored or committed. */
  gaveUp(): boolean;
  /**
   * Keeps at most `count` (an integer ≥ 1) transactions in flight from now on, never more than
   * transactionsInFlight: a lane beyond it stores what its partitions hold, then stays idle.
   * Returns the count in force.
   */
  limitTransactions(count: number): number;
}

/** What the debug log says of a stored group: the bench's latency stages are read from it. */
interface GroupTiming {
  lane: number;
  batches: number;
  events: number;
  /** When its store began (epoch ms), and how long it took, retries included. */
  startedAt: number;
  storeMs: number;
  waitingEvents: number;
  /** Each batch as [partition, first offset, last offset, received at (epoch ms)]. */
  received?: [number, string, string, number][];
}

/** The group's batches for GroupTiming.received (first offset of a valid event). */
const receivedBatches = (batches: readonly PendingBatch[]): GroupTiming['received'] =>
  batches.map((b) => [
    b.source.partition,
    b.origins.length > 0 ? b.origins.at(0).offset : b.nextOffset,
    (BigInt(b.nextOffset) - 1n).toString(),
    b.receivedAt,
  ]);

const partitionKey = ({ topic, partition }: TopicPartition) => `${topic}\u0000${partition}`;

/**
 * The batches gathering for each lane's next group, and the back-pressure intake waits on (on
 * the events waiting in all lanes together).
 */
interface Intake {
  /** Queues a batch for the lane; false once closed. */
  add(batch: PendingBatch, lane: number): boolean;
  /** Takes every batch waiting for the lane (its next group); intake may go on. */
  take(lane: number): PendingBatch[];
  /** Takes every batch waiting for any lane. */
  takeEverything(): PendingBatch[];
  /** Takes no more batches, and wakes whoever waits for room. */
  close(): void;
  isOpen(): boolean;
  waitingBatches(lane: number): number;
  /** Events waiting for the lane, or for all lanes when it is undefined. */
  waitingEvents(lane?: number): number;
  waitForRoom(): Promise<void>;
}

function createIntake(
  lanes: number,
  options: Pick<WriterOptions, 'heartbeat' | 'maxWaitingEvents' | 'heartbeatIntervalMs'>,
): Intake {
  let waiting: PendingBatch[][] = Array.from({ length: lanes }, () => []);
  const laneEvents = new Array<number>(lanes).fill(0);
  let waitingEvents = 0;
  let accepting = true;
  let roomWaiters: (() => void)[] = [];

  const openRoom = () => {
    const waiters = roomWaiters;
    roomWaiters = [];
    for (const resolve of waiters) resolve();
  };

  return {
    add(batch, lane) {
      const queue = waiting[lane];
      if (!accepting || !queue) return false;
      queue.push(batch);
      laneEvents[lane] = (laneEvents[lane] ?? 0) + batch.events.length;
      waitingEvents += batch.events.length;
      return true;
    },
    take(lane) {
      const group = waiting[lane] ?? [];
      waiting[lane] = [];
      waitingEvents -= laneEvents[lane] ?? 0;
      laneEvents[lane] = 0;
      openRoom();
      return group;
    },
    takeEverything() {
      const all = waiting.flat();
      waiting = Array.from({ length: lanes }, () => []);
      laneEvents.fill(0);
      waitingEvents = 0;
      openRoom();
      return all;
    },
    close() {
      accepting = false;
      openRoom();
    },
    isOpen: () => accepting,
    waitingBatches: (lane) => waiting[lane]?.length ?? 0,
    waitingEvents: (lane) => (lane === undefined ? waitingEvents : (laneEvents[lane] ?? 0)),
    async waitForRoom() {
      while (accepting && waitingEvents >= options.maxWaitingEvents) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          roomWaiters.push(resolve);
          timer = setTimeout(resolve, options.heartbeatIntervalMs);
        });
        clearTimeout(timer);
        await options.heartbeat().catch(() => undefined);
      }
    },
  };
}

/** Offset commits and their bookkeeping, in group order, behind the stores. */
interface Committer {
  /** Queues a stored group's commit (and onStored) behind the earlier groups'. */
  enqueue(batches: PendingBatch[], result: StoreResult, timing: GroupTiming): void;
  /** Resolves once every queued commit is done. */
  settled(): Promise<void>;
}

function createCommitter(
  options: Pick<WriterOptions, 'logger' | 'commit' | 'onStored'>,
): Committer {
  const { logger } = options;
  /** Offsets whose commit failed: sent again with the next group's (commits are cumulative). */
  const uncommitted = new Map<string, OffsetCommit>();
  let committing: Promise<void> = Promise.resolve();

  const commitStored = async (batches: readonly PendingBatch[]) => {
    for (const b of batches) {
      uncommitted.set(partitionKey(b.source), { ...b.source, offset: b.nextOffset });
    }
    const offsets = [...uncommitted.values()];
    try {
      await options.commit(offsets);
      for (const o of offsets) {
        if (uncommitted.get(partitionKey(o)) === o) uncommitted.delete(partitionKey(o));
      }
    } catch (error) {
      // Stored but not committed (e.g. a rebalance is under way): whoever reads the partition
      // next gets these events again and the store absorbs the copies.
      logger.warn({ err: error, offsets }, 'offset commit failed; retried with the next group');
    }
  };

  const afterStore = async (batches: PendingBatch[], result: StoreResult, timing: GroupTiming) => {
    const commitStartedAt = performance.now();
    await commitStored(batches);
    logger.debug(
      { ...timing, commitMs: Math.round(performance.now() - commitStartedAt) },
      'group stored',
    );
    try {
      options.onStored({ batches, result, storedAt: Date.now() });
    } catch (error) {
      logger.error({ err: error }, 'could not record a stored group');
    }
  };

  return {
    enqueue(batches, result, timing) {
      committing = committing.then(() => afterStore(batches, result, timing));
    },
    settled: () => committing,
  };
}

/**
 * Group commit with up to `transactionsInFlight` groups in flight, one per lane (lanes.ts).
 * Each partition's batches go to one lane while it has batches there; within a lane, batches
 * gather while the lane's previous group is being stored, then go into the database in one
 * transaction. So the consumer fetches and decodes the next batches while the database works on
 * the current ones, big transactions amortise their fixed costs, and with two lanes or more the
 * database works on one group while the replica prepares or commits another. Two lanes' groups
 * hold distinct partitions but may share aggregate and alert rows: their statements lock those
 * rows in key order (store-events.ts, alerts/store.ts), and a deadlock the database breaks
 * anyway (40P01) is transient: that group is stored again (retry.ts).
 *
 * Offset commits go one after another, in the order the groups were stored, each right after
 * its group's transaction (and not before, whatever the other lanes do). As a partition's
 * batches are stored in order, one group at a time, an offset is committed only once every
 * event below it on its partition is stored, or dead-lettered: events the database refuses for
 * good are found (isolate.ts) and go to the dead-letter topic before the commit, so one of them
 * never stops the partitions. Once a group is given up (a store still failing at shutdown),
 * nothing waiting after it is stored or committed either: all of it is read again later. With
 * one lane this is the group commit of one group in flight it always was.
 */
export function createWriter(options: WriterOptions): Writer {
  const { logger } = options;
  const lanes = options.transactionsInFlight ?? 1;
  const assignment = createLaneAssignment(lanes);
  const intake = createIntake(lanes, options);
  const committer = createCommitter(options);
  const running = new Array<Promise<void> | undefined>(lanes).fill(undefined);
  /** Events of the group each lane is storing. */
  const inFlightEvents = new Array<number>(lanes).fill(0);
  let gaveUp = false;
  const control: RetryControl = {
    keepGoing: options.keepGoing,
    heartbeat: options.heartbeat,
    onRetry: options.onRetry,
  };
  const episode = options.episode ?? (() => NOT_WATCHED);
  const loads = () => inFlightEvents.map((inFlight, lane) => inFlight + intake.waitingEvents(lane));
  const release = (batches: readonly PendingBatch[]) => {
    for (const b of batches) assignment.release(partitionKey(b.source), 1);
  };

  /**
   * Stores a group, then queues its offset commit and returns: the lane's next group goes into
   * the database while the broker takes this one's offsets (the commit is a broker round trip
   * that would otherwise leave the database idle). Commits still go one after another, in order.
   */
  const storeGroup = async (batches: PendingBatch[], lane: number) => {
    const events =
      batches.length === 1 ? (batches[0]?.events ?? []) : batches.flatMap((b) => b.events);
    inFlightEvents[lane] = events.length;
    const startedAtMs = Date.now();
    const startedAt = performance.now();
    const { result, refused } = await storeIsolating(events, options.store, (work) =>
      retryWatched(work, control, episode('store')),
    );
    if (refused.length > 0) {
      const letters = refusedEvents(batches, refused);
      await retryWatched(
        () => options.deadLetter(letters),
        {
          ...control,
          onRetry: (error, attempt, delayMs) => {
            logger.warn(
              { err: error, attempt, delayMs },
              'dead-lettering refused events failed; retrying',
            );
          },
        },
        episode('dead_letter'),
      );
    }
    committer.enqueue(batches, result, {
      lane,
      batches: batches.length,
      events: events.length,
      startedAt: startedAtMs,
      storeMs: Math.round(performance.now() - startedAt),
      waitingEvents: intake.waitingEvents(),
      ...(logger.isLevelEnabled('debug') && { received: receivedBatches(batches) }),
    });
  };

  /** A group that could not be stored: it and everything waiting stays uncommitted. */
  const giveUp = (group: PendingBatch[], error: unknown) => {
    const abandoned = [...group, ...intake.takeEverything()];
    intake.close();
    gaveUp = true;
    release(abandoned.slice(group.length));
    const partitions = [...new Set(abandoned.map((b) => partitionKey(b.source)))].length;
    const level = error instanceof GaveUp ? 'info' : 'error';
    logger[level](
      { err: error, batches: abandoned.length, partitions },
      'batches abandoned uncommitted: they are read again later',
    );
  };

  const run = async (lane: number) => {
    // Lets the other partitions' batches of the same fetch join the first group.
    await new Promise((resolve) => setImmediate(resolve));
    while (intake.waitingBatches(lane) > 0) {
      const group = intake.take(lane);
      try {
        await storeGroup(group, lane);
      } catch (error) {
        giveUp(group, error);
      } finally {
        // Only now (its commit queued) may the group's partitions move to another lane.
        inFlightEvents[lane] = 0;
        release(group);
      }
    }
    running[lane] = undefined;
  };

  return {
    add(batch) {
      if (!intake.isOpen()) return false;
      const lane = assignment.assign(partitionKey(batch.source), loads());
      intake.add(batch, lane);
      running[lane] ??= run(lane);
      return true;
    },
    waitForRoom: () => intake.waitForRoom(),
    async drain() {
      intake.close();
      for (;;) {
        const active = running.filter((r) => r !== undefined);
        if (active.length === 0) break;
        await Promise.all(active);
      }
      await committer.settled();
    },
    gaveUp: () => gaveUp,
    limitTransactions(count) {
      assignment.openLanes(count);
      return assignment.open();
    },
  };
}

/** The refused events of a group with the batch and message each came from. */
function refusedEvents(
  batches: readonly PendingBatch[],
  refused: readonly Refusal[],
): RefusedEvent[] {
  const letters: RefusedEvent[] = [];
  let batchIndex = 0;
  let first = 0;
  for (const { index, error } of refused) {
    while (
      batchIndex < batches.length &&
      (batches[batchIndex]?.events.length ?? 0) + first <= index
    ) {
      first += batches[batchIndex]?.events.length ?? 0;
      batchIndex++;
    }
    const batch = batches[batchIndex];
    const event = batch?.events[index - first];
    const message = event && batch.origins.at(index - first);
    if (!batch || !event || !message) throw new Error(`no event ${index} in the group`);
    letters.push({ event, source: batch.source, message, error });
  }
  return letters;
}
