/** Tumbling windows aligned to the Unix epoch, by event time. */
export const WINDOWS = [
  { name: '5m', ms: 5 * 60_000, table: 'telemetry_agg_5m' },
  { name: '15m', ms: 15 * 60_000, table: 'telemetry_agg_15m' },
] as const;

export type WindowName = (typeof WINDOWS)[number]['name'];

export function windowStart(tsMs: number, sizeMs: number): number {
  return tsMs - (((tsMs % sizeMs) + sizeMs) % sizeMs);
}
