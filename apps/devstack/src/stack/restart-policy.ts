// When the local stack restarts an app that exited on its own: pure arithmetic on timestamps, so
// the rules are tested without waiting (the supervisor passes Date.now()).

export interface RestartPolicy {
  /** Delay before the first restart after a stable run. */
  initialDelayMs: number;
  /** The delay doubles per quick failure up to this. */
  maxDelayMs: number;
  /** A run at least this long counts as stable: the next delay starts again at initialDelayMs. */
  stableAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  stableAfterMs: 60_000,
};

/** Delay before restart number `failures` in a row of quick failures (1 = the first). */
export function backoffDelay(policy: RestartPolicy, failures: number): number {
  const exponent = Math.max(0, failures - 1);
  // Capped before the power grows large: 2 ** 1100 is Infinity.
  if (exponent >= 31) return policy.maxDelayMs;
  return Math.min(policy.initialDelayMs * 2 ** exponent, policy.maxDelayMs);
}

export interface RestartDecision {
  /** Quick failures in a row, this exit included; the next decision takes it back. */
  failures: number;
  delayMs: number;
  /** When to start the app again (exitedAt + delayMs). */
  restartAt: number;
}

/**
 * What to do after an app exited: `failures` is the count from the previous decision (0 at
 * first), `startedAt` and `exitedAt` bound the run that just ended.
 */
export function decideRestart(
  policy: RestartPolicy,
  failures: number,
  startedAt: number,
  exitedAt: number,
): RestartDecision {
  const stable = exitedAt - startedAt >= policy.stableAfterMs;
  const next = stable ? 1 : failures + 1;
  const delayMs = backoffDelay(policy, next);
  return { failures: next, delayMs, restartAt: exitedAt + delayMs };
}

/** How a process ended: an exit code, a signal name, or why it could not run at all. */
export interface ExitReason {
  code?: number;
  signal?: string;
  error?: string;
}

/** From what child.ts's `exited` resolves with: the code, or a signal name (or 'spawn error'). */
export function exitReason(exited: number | string): ExitReason {
  if (typeof exited === 'number') return { code: exited };
  return exited.startsWith('SIG') ? { signal: exited } : { error: exited };
}

export function describeExit(reason: ExitReason): string {
  if (reason.signal !== undefined) return `signal ${reason.signal}`;
  if (reason.code !== undefined) return `code ${String(reason.code)}`;
  return reason.error ?? 'unknown';
}
