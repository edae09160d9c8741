import type { Admin, Consumer } from 'kafkajs';
import type { Gauge } from 'prom-client';
import type { Logger } from '@telemetrypulse/shared';

/** Cheap enough for every replica: two admin requests per owned topic per refresh. */
const DEFAULT_REFRESH_MS = 15_000;

/** Partitions per topic, as kafkajs reports a member's assignment. */
export type Assignment = Readonly<Record<string, readonly number[]>>;

export interface PartitionEnd {
  partition: number;
  /** The offset the next produced message gets. */
  high: string;
  low: string;
}

export interface CommittedOffset {
  partition: number;
  /** The group's committed offset; -1 when it never committed. */
  offset: string;
}

/** Messages between `position` and the partition's end; never negative. */
export function partitionLag(high: string, position: bigint): number {
  const lag = BigInt(high) - position;
  return lag > 0n ? Number(lag) : 0;
}

/**
 * The lag series of the partitions this replica owns. The position of a partition is the furthest
 * of what the group committed and what this replica has consumed, so the gauge neither waits for
 * a commit nor shows a lag that a batch being stored has already read.
 */
export interface LagBook {
  /** A new assignment (after a rebalance): the series of revoked partitions disappear. */
  assign(assignment: Assignment): void;
  /** A batch up to `lastOffset` was handled; `high` is the partition's end in its fetch. */
  consumed(topic: string, partition: number, high: string, lastOffset: string): void;
  /** Fresh ends and commits of one topic, as the admin client reads them. */
  refreshed(
    topic: string,
    ends: readonly PartitionEnd[],
    committed: readonly CommittedOffset[],
  ): void;
  owned(): Assignment;
  clear(): void;
}

const seriesKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export function createLagBook(gauge: Gauge<'topic' | 'partition'>): LagBook {
  let owned: Record<string, readonly number[]> = {};
  const positions = new Map<string, bigint>();
  const isOwned = (topic: string, partition: number) => owned[topic]?.includes(partition) ?? false;
  const set = (topic: string, partition: number, lag: number) => {
    gauge.set({ topic, partition: String(partition) }, lag);
  };
  const advance = (topic: string, partition: number, position: bigint): bigint => {
    const key = seriesKey(topic, partition);
    const known = positions.get(key);
    const furthest = known !== undefined && known > position ? known : position;
    positions.set(key, furthest);
    return furthest;
  };

  return {
    assign(assignment) {
      for (const [topic, partitions] of Object.entries(owned)) {
        for (const partition of partitions) {
          if (assignment[topic]?.includes(partition)) continue;
          gauge.remove({ topic, partition: String(partition) });
          positions.delete(seriesKey(topic, partition));
        }
      }
      owned = Object.fromEntries(Object.entries(assignment).map(([t, p]) => [t, [...p]]));
    },
    consumed(topic, partition, high, lastOffset) {
      if (!isOwned(topic, partition)) return;
      set(topic, partition, partitionLag(high, advance(topic, partition, BigInt(lastOffset) + 1n)));
    },
    refreshed(topic, ends, committed) {
      const commits = new Map(committed.map((c) => [c.partition, BigInt(c.offset)]));
      for (const end of ends) {
        if (!isOwned(topic, end.partition)) continue;
        const commit = commits.get(end.partition) ?? -1n;
        // Without a commit the group starts at the beginning (fromBeginning).
        const start = commit >= 0n ? commit : BigInt(end.low);
        set(topic, end.partition, partitionLag(end.high, advance(topic, end.partition, start)));
      }
    },
    owned: () => owned,
    clear() {
      owned = {};
      positions.clear();
      gauge.reset();
    },
  };
}

export interface LagTrackerOptions {
  consumer: Consumer;
  /** Not connected yet: the tracker connects it when it first refreshes. */
  admin: Admin;
  groupId: string;
  gauge: Gauge<'topic' | 'partition'>;
  logger: Logger;
  refreshMs?: number;
}

export interface LagTracker {
  /** Reads the ends and commits of the owned partitions now. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Keeps the lag gauge of the partitions this replica owns: from every handled batch, and every
 * `refreshMs` from the broker, so an idle or stuck consumer still shows the lag building up.
 * Attach it before the consumer runs: it learns its partitions from the group join.
 */
export function trackConsumerLag(options: LagTrackerOptions): LagTracker {
  const { consumer, admin, groupId, logger } = options;
  const book = createLagBook(options.gauge);
  let connected: Promise<void> | undefined;
  let refreshing: Promise<void> | undefined;
  let stopped = false;

  const readBroker = async () => {
    connected ??= admin.connect();
    try {
      await connected;
      for (const [topic, partitions] of Object.entries(book.owned())) {
        if (partitions.length === 0) continue;
        const ends = await admin.fetchTopicOffsets(topic);
        const [commits] = await admin.fetchOffsets({ groupId, topics: [topic] });
        if (!stopped) book.refreshed(topic, ends, commits?.partitions ?? []);
      }
    } catch (error) {
      // Reconnect on the next refresh; the gauge keeps its last values meanwhile.
      connected = undefined;
      await admin.disconnect().catch(() => undefined);
      logger.warn({ err: error }, 'could not read the consumer lag');
    }
  };
  const refresh = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    refreshing ??= readBroker().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };

  const removers = [
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      book.assign(payload.memberAssignment);
      void refresh();
    }),
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      book.consumed(payload.topic, payload.partition, payload.highWatermark, payload.lastOffset);
    }),
    consumer.on(consumer.events.STOP, () => {
      book.clear();
    }),
  ];
  const timer = setInterval(() => void refresh(), options.refreshMs ?? DEFAULT_REFRESH_MS);
  timer.unref();

  return {
    refresh,
    async stop() {
      stopped = true;
      clearInterval(timer);
      for (const remove of removers) remove();
      await refreshing;
      book.clear();
      await admin.disconnect().catch(() => undefined);
    },
  };
}
