// Retention: raw daily partitions (and their events' ids) go after RAW_RETENTION_DAYS; the 5m and 15m aggregates
// (the windows with a retention setting) are kept longer and deleted in bounded batches. Hourly
// windows and alerts are history and are never deleted here.
import {
  ConfigError,
  DAY_MS,
  type Logger,
  RETAINED_WINDOWS,
  type RetentionSetting,
  type Sql,
  windowOf,
} from '@telemetrypulse/shared';

// Any constant works; it only has to be the same for every replica (migrations use 7_301_001).
export const RETENTION_LOCK_KEY = 7_301_002;
const [W5M, W15M] = [windowOf('5m'), windowOf('15m')];

export interface RetentionPolicy {
  rawDays: number;
  agg5mDays: number;
  agg15mDays: number;
  /** Rows per delete statement: each is its own short transaction. */
  deleteBatchRows?: number;
  /** How long a partition drop may wait for its lock before giving up until the next run. */
  lockTimeoutMs?: number;
}

/** UTC days ('YYYY-MM-DD'): data of earlier days goes; data of this day onwards stays. */
export interface RetentionCutoffs {
  raw: string;
  agg5m: string;
  agg15m: string;
}

export interface RetentionResult {
  /** Another replica was applying retention at the same time, so this one did nothing. */
  skipped: boolean;
  cutoffs: RetentionCutoffs;
  partitionsDropped: number;
  /** Rows of telemetry_event_ids whose raw partition went: their events can no longer come. */
  eventIdsDeleted: number;
  agg5mDeleted: number;
  agg15mDeleted: number;
}

/** The policy from the processor's config; aggregates may not go before the raw rows they sum. */
export function retentionPolicy(
  config: Record<'RAW_RETENTION_DAYS' | RetentionSetting, number>,
): RetentionPolicy {
  for (const { retentionSetting: name } of RETAINED_WINDOWS) {
    if (config[name] < config.RAW_RETENTION_DAYS) {
      throw new ConfigError(
        `${name} (${config[name]}) must be at least RAW_RETENTION_DAYS (${config.RAW_RETENTION_DAYS})`,
      );
    }
  }
  return {
    rawDays: config.RAW_RETENTION_DAYS,
    agg5mDays: config[W5M.retentionSetting],
    agg15mDays: config[W15M.retentionSetting],
  };
}

/**
 * A day is removed once all of it is older than the retention: the cut-off is the UTC day that
 * holds `now - days`. The raw cut-off is the first day ensurePartitions keeps (the oldest an
 * accepted event can have), and windows align with days, so no window is cut in half.
 */
export function retentionCutoffs(policy: RetentionPolicy, now: Date): RetentionCutoffs {
  const day = (days: number) => new Date(now.getTime() - days * DAY_MS).toISOString().slice(0, 10);
  return { raw: day(policy.rawDays), agg5m: day(policy.agg5mDays), agg15m: day(policy.agg15mDays) };
}

/**
 * Applies the policy once. Replicas serialise on an advisory lock: one that finds it taken skips
 * the run, since the holder is doing the same work.
 */
export async function applyRetention(
  sql: Sql,
  policy: RetentionPolicy,
  now: Date = new Date(),
): Promise<RetentionResult> {
  const cutoffs = retentionCutoffs(policy, now);
  const result = {
    skipped: false,
    cutoffs,
    partitionsDropped: 0,
    eventIdsDeleted: 0,
    agg5mDeleted: 0,
    agg15mDeleted: 0,
  };
  const conn = await sql.reserve();
  try {
    const [lock] = await conn<{ locked: boolean }[]>`
      select pg_try_advisory_lock(${RETENTION_LOCK_KEY}) as locked`;
    if (!lock?.locked) return { ...result, skipped: true };
    try {
      const batchRows = policy.deleteBatchRows ?? 10_000;
      result.agg5mDeleted = await deleteWindowsBefore(conn, W5M.table, cutoffs.agg5m, batchRows);
      result.agg15mDeleted = await deleteWindowsBefore(conn, W15M.table, cutoffs.agg15m, batchRows);
      result.partitionsDropped = await dropPartitionsBefore(
        conn,
        cutoffs.raw,
        policy.lockTimeoutMs ?? 5_000,
      );
      result.eventIdsDeleted = await deleteEventIdsBefore(conn, cutoffs.raw, batchRows);
    } finally {
      // If the connection died, the server released the lock with it: keep the first error.
      await conn`select pg_advisory_unlock(${RETENTION_LOCK_KEY})`.catch(() => undefined);
    }
    return result;
  } finally {
    conn.release();
  }
}

/** Deletes the windows that started before the day, a bounded batch per statement. */
async function deleteWindowsBefore(
  sql: Sql,
  table: string,
  day: string,
  batchRows: number,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const rows = await sql`
      delete from ${sql(table)}
      where (site_id, zone_id, sensor_type, window_start) in (
        select site_id, zone_id, sensor_type, window_start from ${sql(table)}
        where window_start < ${day}::date::timestamp at time zone 'UTC'
        limit ${batchRows})`;
    deleted += rows.count;
    if (rows.count < batchRows) return deleted;
  }
}

/**
 * Deletes the recorded ids of events older than the raw cut-off, a bounded batch per statement.
 * The contract refuses events that old, so no resend of them can come to be deduplicated.
 */
async function deleteEventIdsBefore(sql: Sql, day: string, batchRows: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const rows = await sql`
      delete from telemetry_event_ids
      where event_id in (
        select event_id from telemetry_event_ids
        where ts_event < ${day}::date::timestamp at time zone 'UTC'
        limit ${batchRows})`;
    deleted += rows.count;
    if (rows.count < batchRows) return deleted;
  }
}

/**
 * Dropping a partition locks the whole raw table, and waiting for that lock would queue every
 * insert behind it: so the wait is bounded, and a busy moment only postpones the drop.
 */
async function dropPartitionsBefore(sql: Sql, day: string, lockTimeoutMs: number): Promise<number> {
  await sql`select set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, false)`;
  try {
    const [row] = await sql<{ dropped: number }[]>`
      select telemetry_drop_partitions(${day}::date) as dropped`;
    return row?.dropped ?? 0;
  } finally {
    await sql`reset lock_timeout`;
  }
}

export interface RetentionSchedule {
  /** Stops the schedule and waits for a run in progress. */
  stop(): Promise<void>;
}

/** Applies retention now and then every `intervalMs` (never two runs at once), logging results. */
export function startRetention(
  sql: Sql,
  policy: RetentionPolicy,
  logger: Logger,
  intervalMs = 3_600_000,
): RetentionSchedule {
  let inFlight: Promise<void> | undefined;
  const run = () => {
    inFlight ??= applyRetention(sql, policy, new Date())
      .then(
        (result) => {
          logger.info(
            result,
            result.skipped ? 'retention skipped: another replica applies it' : 'retention applied',
          );
        },
        (error: unknown) => {
          logger.error({ err: error }, 'retention failed; next attempt at the next interval');
        },
      )
      .finally(() => {
        inFlight = undefined;
      });
  };
  run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
