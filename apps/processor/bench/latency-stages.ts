import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { quantile } from './stats.ts';

/** One event of a latency measurement: its send, the send's ack, and its row's commit (epoch ms). */
export interface TimedEvent {
  id: string;
  sentAt: number;
  ackedAt: number;
  committedAt: number;
}

/** A batch the replica stored, from its `group stored` debug line (writer.ts). */
interface StoredBatch {
  from: bigint;
  to: bigint;
  receivedAt: number;
  startedAt: number;
}

/** Where events spent their time, in ms: the p50 and p99 of each stage, and its mean in the tail. */
export interface LatencyStages {
  /** Events placed in a stored batch (all, unless the log lost lines). */
  events: number;
  /** The producer: the bench's send to the broker's ack (the probe itself). */
  produce: StageFigures;
  /** The broker's ack to the replica's receipt of the batch (fetch waits; may be below 0). */
  fetch: StageFigures;
  /** Receipt to the start of the transaction: decoding, and waiting for the lane's previous one. */
  queued: StageFigures;
  /** The transaction's start to its commit (retries included). */
  store: StageFigures;
}

export interface StageFigures {
  p50: number | undefined;
  p99: number | undefined;
  /** Mean over the events whose whole latency is at or above its p99. */
  tailMean: number | undefined;
}

/** Each event's partition and offset, read back from the topic: event_id → "partition:offset". */
export async function eventPositions(
  kafka: Kafka,
  topic: string,
  total: number,
): Promise<Map<string, string>> {
  const consumer = kafka.consumer({ groupId: `bench-positions-${randomUUID()}` });
  const positions = new Map<string, string>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: ({ batch }) => {
            for (const m of batch.messages) {
              const { event_id: id } = JSON.parse(m.value?.toString() ?? '{}') as {
                event_id?: string;
              };
              if (id !== undefined) positions.set(id, `${batch.partition}:${m.offset}`);
            }
            if (positions.size >= total) resolve();
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return positions;
}

/** The stored batches by partition, in offset order, from the replica's debug log lines. */
function storedBatches(logLines: readonly Record<string, unknown>[]): Map<number, StoredBatch[]> {
  const byPartition = new Map<number, StoredBatch[]>();
  for (const line of logLines) {
    if (line.msg !== 'group stored' || !Array.isArray(line.received)) continue;
    const startedAt = Number(line.startedAt);
    for (const [partition, from, to, receivedAt] of line.received as [
      number,
      string,
      string,
      number,
    ][]) {
      const list = byPartition.get(partition) ?? [];
      list.push({ from: BigInt(from), to: BigInt(to), receivedAt, startedAt });
      byPartition.set(partition, list);
    }
  }
  for (const list of byPartition.values()) list.sort((a, b) => (a.from < b.from ? -1 : 1));
  return byPartition;
}

function find(list: readonly StoredBatch[], offset: bigint): StoredBatch | undefined {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const b = list[mid] as StoredBatch;
    if (offset < b.from) hi = mid - 1;
    else if (offset > b.to) lo = mid + 1;
    else return b;
  }
  return undefined;
}

/**
 * Splits each event's latency into stages (see LatencyStages): the bench knows the send, the
 * ack and the commit; the replica's `group stored` debug lines say when each batch was received
 * and when its transaction began; the topic says which batch held the event.
 */
export function latencyStages(
  events: readonly TimedEvent[],
  positions: ReadonlyMap<string, string>,
  logLines: readonly Record<string, unknown>[],
): LatencyStages {
  const batches = storedBatches(logLines);
  const rows: { total: number; stages: [number, number, number, number] }[] = [];
  for (const e of events) {
    const [partition, offset] = (positions.get(e.id) ?? ':').split(':');
    const batch = find(batches.get(Number(partition)) ?? [], BigInt(offset || '-1'));
    if (!batch) continue;
    rows.push({
      total: e.committedAt - e.sentAt,
      stages: [
        e.ackedAt - e.sentAt,
        batch.receivedAt - e.ackedAt,
        batch.startedAt - batch.receivedAt,
        e.committedAt - batch.startedAt,
      ],
    });
  }
  const totals = rows.map((r) => r.total).sort((a, b) => a - b);
  const p99 = quantile(totals, 0.99) ?? Infinity;
  const tail = rows.filter((r) => r.total >= p99);
  const figures = (i: number): StageFigures => {
    const values = rows.map((r) => r.stages[i] as number).sort((a, b) => a - b);
    const p50 = quantile(values, 0.5);
    const p99stage = quantile(values, 0.99);
    const mean =
      tail.length === 0
        ? undefined
        : tail.reduce((sum, r) => sum + (r.stages[i] as number), 0) / tail.length;
    return {
      p50: p50 === undefined ? undefined : Math.round(p50),
      p99: p99stage === undefined ? undefined : Math.round(p99stage),
      tailMean: mean === undefined ? undefined : Math.round(mean),
    };
  };
  return {
    events: rows.length,
    produce: figures(0),
    fetch: figures(1),
    queued: figures(2),
    store: figures(3),
  };
}
