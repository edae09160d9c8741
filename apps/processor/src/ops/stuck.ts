import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '@telemetrypulse/shared';

/** What a replica may be stuck retrying: storing a group, or writing dead letters. */
export const STAGES = ['store', 'dead_letter'] as const;
export type Stage = (typeof STAGES)[number];

/** One run of retries of one piece of work; `failing` at each failed attempt, `end` when done. */
export interface Episode {
  failing(error: unknown): void;
  end(): void;
}

export interface StuckWatch {
  /** Starts watching a piece of work of `stage`; it counts only once it has failed. */
  episode(stage: Stage): Episode;
  /** Seconds the oldest unfinished, failing work of `stage` has been failing; 0 when none. */
  failingSeconds(stage: Stage): number;
}

export interface StuckWatchOptions {
  registry: Registry;
  logger: Logger;
  /** After this long failing, the work counts as stuck (gauge, one error log). */
  stuckAfterMs: number;
  now?: () => number;
}

/**
 * How long the replica has been retrying work that keeps failing, as gauges read at scrape time:
 * `telemetry_processor_retrying_seconds{stage}` and `telemetry_processor_stuck{stage}` (1 once
 * that passes STUCK_AFTER_SECONDS). While it retries, the replica's partitions do not move.
 */
export function createStuckWatch(options: StuckWatchOptions): StuckWatch {
  const now = options.now ?? Date.now;
  const failingSince = new Map<Stage, Set<{ since: number }>>(STAGES.map((s) => [s, new Set()]));

  const failingSeconds = (stage: Stage) => {
    let oldest = Infinity;
    for (const e of failingSince.get(stage) ?? []) oldest = Math.min(oldest, e.since);
    return oldest === Infinity ? 0 : Math.max(0, (now() - oldest) / 1000);
  };
  const isStuck = (stage: Stage) => failingSeconds(stage) * 1000 >= options.stuckAfterMs;

  new Gauge({
    name: 'telemetry_processor_retrying_seconds',
    help: 'How long the oldest work still being retried has been failing, by stage (store, dead_letter); 0 when none',
    labelNames: ['stage'],
    registers: [options.registry],
    collect() {
      for (const stage of STAGES) this.set({ stage }, failingSeconds(stage));
    },
  });
  new Gauge({
    name: 'telemetry_processor_stuck',
    help: 'Whether work of this stage has been failing for longer than STUCK_AFTER_SECONDS (1) or not (0)',
    labelNames: ['stage'],
    registers: [options.registry],
    collect() {
      for (const stage of STAGES) this.set({ stage }, isStuck(stage) ? 1 : 0);
    },
  });

  return {
    episode(stage) {
      const set = failingSince.get(stage) ?? new Set();
      let entry: { since: number } | undefined;
      let reported = false;
      return {
        failing(error) {
          if (!entry) {
            entry = { since: now() };
            set.add(entry);
          }
          const seconds = (now() - entry.since) / 1000;
          if (!reported && seconds * 1000 >= options.stuckAfterMs) {
            reported = true;
            options.logger.error(
              { err: error, stage, failingSeconds: Math.round(seconds) },
              'stuck: still failing after STUCK_AFTER_SECONDS; its partitions do not move',
            );
          }
        },
        end() {
          if (entry) set.delete(entry);
          if (reported)
            options.logger.warn(
              { stage },
              'no longer stuck: the work went through or was given up',
            );
          entry = undefined;
        },
      };
    },
    failingSeconds,
  };
}
