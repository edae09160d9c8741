/** The spread of one figure over the runs. */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

/** The q-quantile (0…1) of ascending values, nearest rank: the value at or above q of them. */
export function quantile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

/** Min, median (the mean of the middle two for an even count) and max; undefined when empty. */
export function spread(values: readonly (number | undefined)[]): Spread | undefined {
  const sorted = values
    .filter((v): v is number => v !== undefined && Number.isFinite(v))
    .sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return undefined;
  const middle =
    n % 2 === 1 ? sorted[(n - 1) / 2] : ((sorted[n / 2 - 1] ?? 0) + (sorted[n / 2] ?? 0)) / 2;
  return { min: sorted[0] ?? 0, median: middle ?? 0, max: sorted[n - 1] ?? 0 };
}

/** A spread with its values rounded to `digits` decimals, for printing. */
export function rounded(s: Spread | undefined, digits = 0): Spread | null {
  if (!s) return null;
  const r = (n: number) => Number(n.toFixed(digits));
  return { min: r(s.min), median: r(s.median), max: r(s.max) };
}

/** JSON with two-space indents, each min/median/max on one line so the runs read side by side. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /\{\s+"min": ([^,\s]+),\s+"median": ([^,\s]+),\s+"max": ([^,\s]+)\s+\}/g,
    '{ "min": $1, "median": $2, "max": $3 }',
  );
}
