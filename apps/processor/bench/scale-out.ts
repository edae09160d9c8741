import type { Sql } from '@telemetrypulse/shared';
import { sample } from './percentiles.ts';
import { gcSeconds, STORED, TRANSACTION } from './drain.ts';
import { cpuSeconds } from './process-cpu.ts';
import { scrape, spawnReplica, stopReplica, type Replica } from './replica.ts';
import { transactionSampler, type TransactionStates } from './transaction-states.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ScaleOut {
  replicas: number;
  eventsPerSecond: number;
  /** The settled drain's wall time, over which the rate and everything per event count. */
  seconds: number;
  /** From the first stored event to every replica storing (the group's rebalance); not in the rate. */
  settleSeconds: number;
  /** Events each replica stored: both took part. */
  storedByReplica: number[];
  /** Share of samples (every 100 ms) in which a processor connection waited on a lock. */
  lockWaitFraction: number;
  /** The same share for lock waits on rows (another transaction's or a tuple lock): shared windows. */
  rowLockWaitFraction: number;
  /** The replicas' open transactions by what PostgreSQL was doing in them, once settled. */
  transactionStates: TransactionStates;
  /**
   * CPU per event over the settled group's drain: the replicas together, PostgreSQL, the broker.
   * Set beside one replica's, it says whether a second replica costs CPU of its own.
   */
  cpuUsPerEvent: { processors: number; postgres: number; broker: number };
  /** The group's store transactions over the settled drain: how many, and their summed seconds. */
  transactions: number;
  transactionSeconds: number;
  /** The replicas' garbage-collection pauses (all kinds, summed) per event over the settled drain. */
  gcUsPerEvent: number;
}

/** CPU seconds so far of the replicas (summed), PostgreSQL and the broker. */
function cpuNow(members: readonly Replica[], servers: { postgresPid: number; brokerPid: number }) {
  return {
    processors: members.reduce((sum, m) => sum + cpuSeconds(m.pid), 0),
    postgres: cpuSeconds(servers.postgresPid),
    broker: cpuSeconds(servers.brokerPid),
  };
}

/**
 * `replicas` processor replicas in one consumer group drain the preloaded topic `run`; the
 * combined rate counts from the first stored row to the last. Meanwhile pg_stat_activity is
 * sampled for the processors' connections waiting on a lock: two replicas storing events of the
 * same site, zone and window update the same aggregate rows, and one waits for the other's commit.
 */
export async function measureScaleOut(
  brokers: string,
  sql: Sql,
  url: string,
  servers: { postgresPid: number; brokerPid: number },
  run: string,
  total: number,
  replicas = 2,
  group = `bench-scale-out-${run}`,
): Promise<ScaleOut> {
  const members: Replica[] = [];
  for (let i = 0; i < replicas; i++) members.push(await spawnReplica(brokers, url, run, group));
  let samples = 0;
  let lockWaits = 0;
  let rowLockWaits = 0;
  const states = transactionSampler(sql);
  let startedAt: number | undefined;
  let doneAt = 0;
  let firstAt: number | undefined;
  let firstStored = 0;
  let stored: number[] = [];
  let cpuFirst = { processors: 0, postgres: 0, broker: 0 };
  let cpuDone = cpuFirst;
  let texts: string[] = [];
  const summed = (name: string) => texts.reduce((sum, t) => sum + sample(t, name), 0);
  let txFirst = { count: 0, seconds: 0 };
  let gcFirst = 0;
  const gcNow = () =>
    texts.reduce((sum, t) => sum + Object.values(gcSeconds(t)).reduce((a, b) => a + b, 0), 0);
  try {
    while (stored.reduce((a, b) => a + b, 0) < total) {
      for (const m of members) {
        if (m.processor.child.exitCode !== null) {
          throw new Error(`processor died: ${m.processor.output()}`);
        }
      }
      await sleep(100);
      const waited = await states.sample();
      samples++;
      if (waited.lock) lockWaits++;
      if (waited.rowLock) rowLockWaits++;
      texts = await Promise.all(members.map((m) => scrape(m)));
      stored = texts.map((t) => sample(t, STORED));
      const sum = stored.reduce((a, b) => a + b, 0);
      if (startedAt === undefined && sum > 0) startedAt = performance.now();
      // The first member starts alone; the rate counts once the group has settled with all.
      if (firstAt === undefined && stored.every((n) => n > 0)) {
        firstAt = performance.now();
        firstStored = sum;
        cpuFirst = cpuNow(members, servers);
        txFirst = { count: summed(`${TRANSACTION}_count`), seconds: summed(`${TRANSACTION}_sum`) };
        gcFirst = gcNow();
        states.reset();
      }
    }
    doneAt = performance.now();
    cpuDone = cpuNow(members, servers);
  } finally {
    for (const m of members) await stopReplica(m);
  }
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from telemetry_events`;
  if (row?.n !== total) throw new Error(`${row?.n} raw rows for ${total} events`);
  const end = doneAt;
  const from = firstAt ?? startedAt ?? end;
  const seconds = (end - from) / 1000;
  const perEvent = (k: keyof typeof cpuDone) =>
    ((cpuDone[k] - cpuFirst[k]) * 1e6) / Math.max(1, total - firstStored);
  return {
    replicas,
    eventsPerSecond: seconds > 0 ? (total - firstStored) / seconds : Number.NaN,
    seconds,
    settleSeconds: ((firstAt ?? end) - (startedAt ?? end)) / 1000,
    storedByReplica: stored,
    lockWaitFraction: samples > 0 ? lockWaits / samples : 0,
    rowLockWaitFraction: samples > 0 ? rowLockWaits / samples : 0,
    transactionStates: states.means(),
    cpuUsPerEvent: {
      processors: perEvent('processors'),
      postgres: perEvent('postgres'),
      broker: perEvent('broker'),
    },
    transactions: summed(`${TRANSACTION}_count`) - txFirst.count,
    transactionSeconds: summed(`${TRANSACTION}_sum`) - txFirst.seconds,
    gcUsPerEvent: ((gcNow() - gcFirst) * 1e6) / Math.max(1, total - firstStored),
  };
}
