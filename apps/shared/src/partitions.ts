import type { Sql } from './db.ts';
import { DAY_MS } from './time.ts';

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * Makes sure raw-event partitions exist for every day an accepted event can fall on: from the
 * oldest accepted event time to `aheadDays` after today.
 */
export async function ensurePartitions(
  sql: Sql,
  maxAgeMs: number,
  aheadDays = 2,
  now: number = Date.now(),
): Promise<number> {
  const [row] = await sql<{ created: number }[]>`
    select telemetry_ensure_partitions(${utcDay(now - maxAgeMs)}::date,
                                       ${utcDay(now + aheadDays * DAY_MS)}::date) as created`;
  return row?.created ?? 0;
}
