import { invalidParameter } from './problem.ts';

export interface Period {
  from: Date;
  to: Date;
}

/**
 * `from`/`to` query parameters with defaults: `to` is now, `from` is `defaultMs` before `to`.
 * Throws 400 problems when from is not before to, or the span exceeds `maxMs`.
 */
export function periodFrom(
  query: { from?: string | undefined; to?: string | undefined },
  { now, defaultMs, maxMs }: { now: number; defaultMs: number; maxMs: number },
): Period {
  const to = query.to === undefined ? now : Date.parse(query.to);
  const from = query.from === undefined ? to - defaultMs : Date.parse(query.from);
  if (from >= to) throw invalidParameter('from', 'from must be before to');
  if (to - from > maxMs) {
    throw invalidParameter(
      'from',
      `the period may span at most ${Math.round(maxMs / 86_400_000)} days`,
    );
  }
  return { from: new Date(from), to: new Date(to) };
}
