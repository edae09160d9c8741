import { loadavg } from 'node:os';
import type { Sql } from '@telemetrypulse/shared';
import { sample } from './percentiles.ts';
import { cpuSeconds, peakRssMiB } from './process-cpu.ts';
import { scrape, spawnReplica, stopReplica } from './replica.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const STORED = 'telemetry_processor_events_stored_total';
const TRANSACTION = 'telemetry_processor_db_transaction_duration_seconds';
const RETRIES = 'telemetry_processor_store_retries_total';

/** What is read at the first stored row and again at the last: the drain is their difference. */
interface Mark {
  at: number;
  stored: number;
  cpu: { processor: number; postgres: number; broker: number };
  transactionSeconds: number;
  transactions: number;
  retries: number;
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
  };
}

export interface Drain {
  eventsPerSecond: number;
  seconds: number;
  peakRssMiB: number | undefined;
  cpuUsPerEvent: { processor: number; postgres: number; broker: number };
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
): Promise<Drain> {
  const before = loadavg()[0] ?? 0;
  const replica = await spawnReplica(brokers, url, run, `bench-drain-${run}`);
  const pids = { processor: replica.pid, postgres: servers.postgresPid, broker: servers.brokerPid };
  let first: Mark | undefined;
  let last: Mark | undefined;
  let rss: number | undefined;
  let samples = 0;
  let rowLockWaits = 0;
  while ((last?.stored ?? 0) < total) {
    const { processor } = replica;
    if (processor.child.exitCode !== null) throw new Error(`processor died: ${processor.output()}`);
    await sleep(200);
    const waits = await sql<{ wait_event: string }[]>`
      select wait_event from pg_stat_activity
      where application_name = 'processor' and wait_event_type = 'Lock'`;
    if (first) {
      samples++;
      if (waits.some((w) => w.wait_event === 'transactionid' || w.wait_event === 'tuple')) {
        rowLockWaits++;
      }
    }
    const text = await scrape(replica);
    last = mark(text, pids);
    if (!first && last.stored > 0) first = last;
    rss = peakRssMiB(replica.pid) ?? rss;
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
    cpuUsPerEvent: {
      processor: (cpu('processor') * 1e6) / drained,
      postgres: (cpu('postgres') * 1e6) / drained,
      broker: (cpu('broker') * 1e6) / drained,
    },
    busy: {
      processor: cpu('processor') / seconds,
      postgres: cpu('postgres') / seconds,
      broker: cpu('broker') / seconds,
    },
    dbWaitFraction: inTransactions / seconds,
    transactions,
    storeRetries: last.retries,
    rowLockWaitFraction: samples > 0 ? rowLockWaits / samples : 0,
    meanTransactionMs: transactions > 0 ? (inTransactions * 1000) / transactions : 0,
    loadavg1m: { before, after: loadavg()[0] ?? 0 },
  };
}
