import type { Sql } from '@telemetrypulse/shared';

/**
 * The replicas' open store transactions by what their backends were doing, as the mean number of
 * transactions per sample of `pg_stat_activity`: `working` (running, or waiting for a core),
 * `lock` (waiting on another transaction's row lock: shared window, site or alert rows), `io`
 * (writing or flushing WAL and data files, or waiting for the lock of that), and
 * `waitingForReplica` (idle inside the transaction, or still reading the statement: the
 * replica has not sent its next command yet), and of those `waitingAfterBegin` (its last
 * command was BEGIN: the transaction holds no rows yet, its lane waits to start; the others
 * hold the window, site or alert rows they wrote while they wait).
 */
export interface TransactionStates {
  working: number;
  lock: number;
  io: number;
  waitingForReplica: number;
  waitingAfterBegin: number;
}

type State = Exclude<keyof TransactionStates, 'waitingAfterBegin'>;
const NONE: TransactionStates = {
  working: 0,
  lock: 0,
  io: 0,
  waitingForReplica: 0,
  waitingAfterBegin: 0,
};

export interface TransactionSampler {
  /** Samples once; says whether one of the transactions waited on a lock, and on a row lock. */
  sample(): Promise<{ lock: boolean; rowLock: boolean }>;
  /** Means over the samples taken since the last reset. */
  means(): TransactionStates;
  reset(): void;
}

/** The state a `pg_stat_activity` row of an open transaction counts in. */
export function transactionState(row: { state: string; wait_event_type: string | null }): State {
  if (row.state.startsWith('idle in transaction')) return 'waitingForReplica';
  switch (row.wait_event_type) {
    case 'Client':
      return 'waitingForReplica';
    case 'Lock':
      return 'lock';
    case 'IO':
    case 'LWLock':
      return 'io';
    default:
      return 'working';
  }
}

/** Whether a transaction waiting for the replica has sent nothing but BEGIN (its last query). */
export const waitsAfterBegin = (query: string) => /^\s*begin\b/i.test(query);

/** Samples the processors' connections (application_name `processor`) that are not idle. */
export function transactionSampler(sql: Sql): TransactionSampler {
  let samples = 0;
  let sums: TransactionStates = { ...NONE };
  return {
    async sample() {
      const rows = await sql<
        {
          state: string;
          wait_event_type: string | null;
          wait_event: string | null;
          query: string;
        }[]
      >`
        select state, wait_event_type, wait_event, left(query, 20) as query
        from pg_stat_activity
        where application_name = 'processor' and state <> 'idle'`;
      samples++;
      for (const row of rows) {
        const state = transactionState(row);
        sums[state]++;
        if (state === 'waitingForReplica' && waitsAfterBegin(row.query)) sums.waitingAfterBegin++;
      }
      const locks = rows.filter((r) => r.wait_event_type === 'Lock');
      return {
        lock: locks.length > 0,
        rowLock: locks.some((r) => r.wait_event === 'transactionid' || r.wait_event === 'tuple'),
      };
    },
    means() {
      const mean = (n: number) => (samples > 0 ? n / samples : 0);
      return {
        working: mean(sums.working),
        lock: mean(sums.lock),
        io: mean(sums.io),
        waitingForReplica: mean(sums.waitingForReplica),
        waitingAfterBegin: mean(sums.waitingAfterBegin),
      };
    },
    reset() {
      samples = 0;
      sums = { ...NONE };
    },
  };
}
