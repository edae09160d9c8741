/**
 * Which lane a partition's batches go to, when a replica keeps up to N store transactions in
 * flight (one per lane). A partition stays on its lane while it has batches there (waiting or
 * in the transaction being stored): its batches are stored in their order, and no two
 * transactions in flight hold the same partition, so its offsets are committed in order, each
 * after the transaction that stored it. A partition with nothing left in its lane is free, and
 * its next batch goes to the lane with the least work, so a quiet partition never waits behind a
 * busy lane. Pure bookkeeping: the writer (writer.ts) tells it what arrives and what is done.
 */
export interface LaneAssignment {
  /**
   * The lane for a batch of `partition`, given each lane's work (e.g. the events waiting in it
   * and in its transaction): the partition's own lane while it holds batches there, otherwise
   * the least loaded lane (the first of equals). Counts the batch as held by that lane.
   */
  assign(partition: string, loads: readonly number[]): number;
  /** `batches` of the partition's batches left its lane (stored, or abandoned). */
  release(partition: string, batches: number): void;
  /** The lane the partition is held by, if any. */
  laneOf(partition: string): number | undefined;
  /**
   * Free partitions go to the first `count` lanes only (at most N). A partition keeps the
   * lane it holds until it is free, so its batches stay in order while a closed lane drains.
   */
  openLanes(count: number): void;
  /** How many lanes free partitions may go to. */
  open(): number;
}

export function createLaneAssignment(lanes: number): LaneAssignment {
  if (!Number.isInteger(lanes) || lanes < 1) throw new RangeError(`lanes must be ≥ 1: ${lanes}`);
  const held = new Map<string, { lane: number; batches: number }>();
  let openCount = lanes;
  return {
    assign(partition, loads) {
      const current = held.get(partition);
      if (current) {
        current.batches++;
        return current.lane;
      }
      let lane = 0;
      for (let i = 1; i < openCount; i++) {
        if ((loads[i] ?? 0) < (loads[lane] ?? 0)) lane = i;
      }
      held.set(partition, { lane, batches: 1 });
      return lane;
    },
    release(partition, batches) {
      const current = held.get(partition);
      if (!current) return;
      current.batches -= batches;
      if (current.batches <= 0) held.delete(partition);
    },
    laneOf: (partition) => held.get(partition)?.lane,
    openLanes(count) {
      if (!Number.isInteger(count) || count < 1)
        throw new RangeError(`open lanes must be ≥ 1: ${count}`);
      openCount = Math.min(lanes, count);
    },
    open: () => openCount,
  };
}
