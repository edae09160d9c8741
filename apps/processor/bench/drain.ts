import { loadavg } from 'node:os';
import type { Sql } from '@telemetrypulse/shared';
import { sample } from './percentiles.ts';
import { cpuSeconds, peakRssMiB } from './process-cpu.ts';
import { scrape, spawnReplica, stopReplica } from './replica.ts';
import { transactionSampler, type TransactionStates } from './transaction-states.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const STORED = 'telemetry_processor_events_stored_total';
export const TRANSACTION = 'telemetry_processor_db_transaction_duration_seconds';
const RETRIES = 'telemetry_processor_store_retries_total';
const GC_SECONDS = /^nodejs_gc_duration_seconds_sum\{[^}]*kind="(\w+)"[^}]*\} (\S+)$/gm;

/** Seconds the replica's main thread spent in garbage collection so far, by kind. */
export function gcSeconds(metricsText: string): Record<string, number> {
  const byKind: Record<string, number> = {};
  for (const [, kind = '', seconds] of metricsText.matchAll(GC_SECONDS)) {
    byKind[kind] = (byKind[kind] ?? 0) + Number(seconds);
  }
  return byKind;
}

/** What is read at the first stored row and again at the last: the drain is their difference. */
interface Mark {
  at: number;
  stored: number;
  cpu: { processor: number; postgres: number; broker: number };
  transactionSeconds: number;
  transactions: number;
  retries: number;
  gc: Record<string, number>;
}

function mark(
  metricsText: string,
  pids: { processor: number; postgres: number; broker: number },
): Mark {
  return {
    at: performance.now(),
    stored: sample(metricsText, STORED),
    cpu: {
      processor: cpuSeconds(pids.processor),
      postgres: cpuSeconds(pids.postgres),
      broker: cpuSeconds(pids.broker),
    },
    transactionSeconds: sample(metricsText, `${TRANSACTION}_sum`),
    transactions: sample(metricsText, `${TRANSACTION}_count`),
    retries: sample(metricsText, RETRIES),
    gc: gcSeconds(metricsText),
  };
}

/** The replica's memory (MiB) from its own /metrics (Node's default metrics). */
export interface Memory {
  rss: number;
  /** V8's heap as reserved, and the part of it in use (live objects and garbage not yet collected). */
  heapTotal: number;
  heapUsed: number;
  /** Memory outside the heap held by JS objects: mostly the broker's fetch responses (Buffers). */
  external: number;
}

const MIB = 1024 * 1024;
function memory(metricsText: string): Memory {
  const mib = (name: string) => sample(metricsText, name) / MIB;
  return {
    rss: mib('process_resident_memory_bytes'),
    heapTotal: mib('nodejs_heap_size_total_bytes'),
    heapUsed: mib('nodejs_heap_size_used_bytes'),
    external: mib('nodejs_external_memory_bytes'),
  };
}

export interface Drain {
  eventsPerSecond: number;
  seconds: number;
  peakRssMiB: number | undefined;
  /**
   * What the RSS held at the sample with the most: heap, external memory, and the rest (code,
   * Node and its libraries, thread stacks). `liveHeap` is the least heap in use over the drain:
   * about what survives a full collection, the rest of heapUsed at the peak is garbage.
   */
  memoryAtPeak: Memory & { liveHeap: number };
  cpuUsPerEvent: { processor: number; postgres: number; broker: number };
  /**
   * The replica's garbage-collection pauses over the drain, per event and by kind (major = full
   * mark-compact, minor = young generation): CPU on its main thread, part of cpuUsPerEvent.
   */
  gcUsPerEvent: Record<string, number>;
  /** CPU seconds per second of the drain: 1 is one core busy all the time. */
  busy: { processor: number; postgres: number; broker: number };
  /**
   * Store transactions in flight on average over the drain (their summed time over its wall
   * time): with one at a time, the share of the drain the replica waited on PostgreSQL.
   */
  dbWaitFraction: number;
  transactions: number;
  /**
   * Share of samples (every 200 ms) in which one of the replica's transactions waited on a row
   * lock of another (shared aggregate or alert rows: its other transactions in flight).
   */
  rowLockWaitFraction: number;
  /** The replica's open transactions by what PostgreSQL was doing in them, over the same samples. */
  transactionStates: TransactionStates;
  /** Store transactions retried (e.g. a deadlock between two in flight, 40P01) over the drain. */
  storeRetries: number;
  meanTransactionMs: number;
  loadavg1m: { before: number; after: number };
}

/**
 * One replica drains the preloaded topic `run`; the figures count from the first stored row to
 * the last, from /proc (CPU, peak RSS) and from the replica's own /metrics (events stored, time
 * in store transactions). Polling the database instead (count(*) over a million rows, five
 * times a second) took CPU from the run it measured.
 */
export async function measureDrain(
  brokers: string,
  sql: Sql,
  url: string,
  servers: { postgresPid: number; brokerPid: number },
  run: string,
  total: number,
  group = `bench-drain-${run}`,
): Promise<Drain> {
  const before = loadavg()[0] ?? 0;
  const replica = await spawnReplica(brokers, url, run, group);
  const pids = { processor: replica.pid, postgres: servers.postgresPid, broker: servers.brokerPid };
  let first: Mark | undefined;
  let last: Mark | undefined;
  let rss: number | undefined;
  let atPeak: Memory = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0 };
  let liveHeap = Number.POSITIVE_INFINITY;
  let samples = 0;
  let rowLockWaits = 0;
  const states = transactionSampler(sql);
  while ((last?.stored ?? 0) < total) {
    const { processor } = replica;
    if (processor.child.exitCode !== null) throw new Error(`processor died: ${processor.output()}`);
    await sleep(200);
    const waited = await states.sample();
    if (first) {
      samples++;
      if (waited.rowLock) rowLockWaits++;
    }
    const text = await scrape(replica);
    last = mark(text, pids);
    if (!first && last.stored > 0) {
      first = last;
      states.reset();
    }
    rss = peakRssMiB(replica.pid) ?? rss;
    const now = memory(text);
    if (now.rss > atPeak.rss) atPeak = now;
    if (first && now.heapUsed > 0) liveHeap = Math.min(liveHeap, now.heapUsed);
  }
  await stopReplica(replica);
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from telemetry_events`;
  if (row?.n !== total) throw new Error(`${row?.n} raw rows for ${total} events`);
  if (!first || !last) throw new Error('nothing stored');
  const seconds = (last.at - first.at) / 1000;
  const drained = last.stored - first.stored;
  const cpu = (k: keyof Mark['cpu']) => last.cpu[k] - first.cpu[k];
  const transactions = last.transactions - first.transactions;
  const inTransactions = last.transactionSeconds - first.transactionSeconds;
  return {
    eventsPerSecond: drained / seconds,
    seconds,
    peakRssMiB: rss,
    memoryAtPeak: { ...atPeak, liveHeap: Number.isFinite(liveHeap) ? liveHeap : 0 },
    cpuUsPerEvent: {
      processor: (cpu('processor') * 1e6) / drained,
      postgres: (cpu('postgres') * 1e6) / drained,
      broker: (cpu('broker') * 1e6) / drained,
    },
    gcUsPerEvent: Object.fromEntries(
      Object.entries(last.gc).map(([kind, total]) => [
        kind,
        ((total - (first.gc[kind] ?? 0)) * 1e6) / drained,
      ]),
    ),
    busy: {
      processor: cpu('processor') / seconds,
      postgres: cpu('postgres') / seconds,
      broker: cpu('broker') / seconds,
    },
    dbWaitFraction: inTransactions / seconds,
    transactions,
    storeRetries: last.retries,
    rowLockWaitFraction: samples > 0 ? rowLockWaits / samples : 0,
    transactionStates: states.means(),
    meanTransactionMs: transactions > 0 ? (inTransactions * 1000) / transactions : 0,
    loadavg1m: { before, after: loadavg()[0] ?? 0 },
  };
}
