// Milli-events (events per 1000 s, so fractional rates stay integers) times milliseconds per second.
const SCALE = 1_000_000n;

/**
 * A schedule of evenly spaced events since `startMs`. Counting from the start, instead of adding
 * intervals, keeps the rate exact over any run length; BigInt keeps it exact past 2^53.
 */
export interface Pace {
  readonly startMs: number;
  /** Events per 1000 seconds. */
  readonly milliRate: bigint;
  /** The most events one call may release: a stall is followed by at most this burst. */
  readonly maxBurst: number;
  /** Events given up after stalls; they never become due again. */
  readonly skipped: number;
}

export interface Due {
  count: number;
  /** The pace to use from now on (it records events skipped after a stall). */
  pace: Pace;
}

export function startPace(eventsPerSecond: number, startMs: number, burstSeconds = 1): Pace {
  const milliRate = Math.round(eventsPerSecond * 1000);
  if (!Number.isFinite(milliRate) || milliRate < 1) {
    throw new RangeError(`rate must be at least 0.001 events/s, got ${eventsPerSecond}`);
  }
  return {
    startMs,
    milliRate: BigInt(milliRate),
    maxBurst: Math.max(1, Math.ceil((milliRate * burstSeconds) / 1000)),
    skipped: 0,
  };
}

/** Events scheduled in (start, now]: the k-th is due at ceil(k / rate). */
function scheduled(pace: Pace, nowMs: number): number {
  const elapsedMs = Math.floor(nowMs - pace.startMs);
  if (elapsedMs <= 0) return 0;
  return Number((BigInt(elapsedMs) * pace.milliRate) / SCALE);
}

/** How many events are due at `nowMs` when `sent` have been released so far. */
export function eventsDue(pace: Pace, sent: number, nowMs: number): Due {
  const owed = scheduled(pace, nowMs) - pace.skipped - sent;
  if (owed <= pace.maxBurst) return { count: Math.max(0, owed), pace };
  return { count: pace.maxBurst, pace: { ...pace, skipped: pace.skipped + owed - pace.maxBurst } };
}

/** Milliseconds from `nowMs` until the next event is due; 0 when one is due already. */
export function msUntilDue(pace: Pace, sent: number, nowMs: number): number {
  const next = BigInt(pace.skipped + sent + 1);
  const offsetMs = Number((next * SCALE + pace.milliRate - 1n) / pace.milliRate);
  return Math.max(0, pace.startMs + offsetMs - nowMs);
}
