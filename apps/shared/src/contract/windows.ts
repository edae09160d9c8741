// The one definition of the windows: the stored aggregates (the processor writes them, retention
// trims them, the API reads them) and the API's series buckets. The tables themselves are made by
// the migrations (0001_init.sql: 5m and 15m; 0008_hourly_rollup.sql: 1h), whose generated
// window_end repeats each length: a new window here needs a migration too.
import { MINUTE_MS } from '../time.ts';

/**
 * Tumbling windows aligned to the Unix epoch, by event time, narrowest first. `interval` is the
 * length as PostgreSQL reads it (date_bin); `table` holds the stored aggregates of the window;
 * `retentionSetting` names the processor setting after which its rows are deleted.
 */
export const WINDOWS = [
  {
    name: '5m',
    ms: 5 * MINUTE_MS,
    interval: '5 minutes',
    table: 'telemetry_agg_5m',
    retentionSetting: 'AGG_5M_RETENTION_DAYS',
  },
  {
    name: '15m',
    ms: 15 * MINUTE_MS,
    interval: '15 minutes',
    table: 'telemetry_agg_15m',
    retentionSetting: 'AGG_15M_RETENTION_DAYS',
  },
  // No retention setting: hourly rows have always been kept, and retention deleting them would
  // change what long series show.
  { name: '1h', ms: 60 * MINUTE_MS, interval: '1 hour', table: 'telemetry_agg_1h' },
  // A series bucket of the API only: no table, summed from the hourly windows.
  { name: '1d', ms: 24 * 60 * MINUTE_MS, interval: '1 day' },
] as const;

export type Window = (typeof WINDOWS)[number];
export type WindowName = Window['name'];
/** A window with a table of its own. */
export type StoredWindow = Extract<Window, { table: string }>;
export type WindowTable = StoredWindow['table'];
/** A window whose rows are deleted after a configurable number of days. */
export type RetainedWindow = Extract<Window, { retentionSetting: string }>;
export type RetentionSetting = RetainedWindow['retentionSetting'];

export const WINDOW_NAMES: readonly WindowName[] = WINDOWS.map((w) => w.name);

const isStored = (w: Window): w is StoredWindow => 'table' in w;
const isRetained = (w: Window): w is RetainedWindow => 'retentionSetting' in w;

export const STORED_WINDOWS: readonly StoredWindow[] = WINDOWS.filter(isStored);
export const RETAINED_WINDOWS: readonly RetainedWindow[] = WINDOWS.filter(isRetained);

/** The window of that name. */
export function windowOf<N extends WindowName>(name: N): Extract<Window, { name: N }> {
  return WINDOWS.find((w) => w.name === name) as Extract<Window, { name: N }>;
}

/**
 * The widest stored window that the window is a whole number of: where it is read from, as
 * sums and counts add up exactly (1d from the hourly table).
 */
export function sourceWindow(name: WindowName): StoredWindow {
  const { ms } = windowOf(name);
  const source = STORED_WINDOWS.findLast((w) => ms % w.ms === 0);
  if (!source) throw new Error(`no stored window divides ${name}`);
  return source;
}

/** The start of the window of `sizeMs` that holds `tsMs` (epoch-aligned; also before 1970). */
export function windowStart(tsMs: number, sizeMs: number): number {
  return tsMs - (((tsMs % sizeMs) + sizeMs) % sizeMs);
}
