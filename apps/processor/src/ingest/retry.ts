import type { Episode } from '../ops/stuck.ts';

export interface RetryControl {
  /** False once the batch must be given up (shutdown or rebalance): stop retrying. */
  keepGoing: () => boolean;
  /** Called between attempts so the consumer stays in its group during a long outage. */
  heartbeat: () => Promise<void>;
  onRetry: (error: unknown, attempt: number, delayMs: number) => void;
}

export class GaveUp extends Error {
  override name = 'GaveUp';
}

export function backoffMs(attempt: number, baseMs = 250, maxMs = 15_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 16));
}

/** Retries `work` until it succeeds or `keepGoing` turns false (then throws GaveUp). */
export async function retryUntilDone<T>(work: () => Promise<T>, control: RetryControl): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!control.keepGoing()) throw new GaveUp('stopped while retrying', { cause: error });
      const delayMs = backoffMs(attempt);
      control.onRetry(error, attempt + 1, delayMs);
      // Sleep in short steps, heartbeating, so a shutdown or rebalance is noticed quickly.
      const until = Date.now() + delayMs;
      while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, Math.min(1000, until - Date.now())));
        await control.heartbeat().catch(() => undefined);
        if (!control.keepGoing()) throw new GaveUp('stopped while retrying', { cause: error });
      }
    }
  }
}

/** retryUntilDone, with how long its attempts have been failing told to `episode` (ops/stuck.ts). */
export async function retryWatched<T>(
  work: () => Promise<T>,
  control: RetryControl,
  episode: Episode,
): Promise<T> {
  try {
    return await retryUntilDone(work, {
      ...control,
      onRetry: (error, attempt, delayMs) => {
        episode.failing(error);
        control.onRetry(error, attempt, delayMs);
      },
    });
  } finally {
    episode.end();
  }
}
