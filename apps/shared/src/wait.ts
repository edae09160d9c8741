// Waiting at start for what an app needs (PostgreSQL, Kafka): on a fresh cluster pods start
// before their dependencies. One bounded retry loop for every app and the migration command.
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Logger } from './log.ts';

/** What a failed attempt means: try again later, or give up at once (retrying cannot fix it). */
export interface Verdict {
  retry: boolean;
  /** Short and greppable: ECONNREFUSED, ENOTFOUND, 57P03, 28P01, … */
  code: string;
  /** What to check when retrying cannot help, e.g. "check the password in DATABASE_URL". */
  hint?: string;
}

export type Classify = (error: unknown) => Verdict;

export interface WaitOptions {
  logger: Logger;
  /** The bound; 0: one attempt, a failure of any kind ends the wait at once. */
  timeoutMs: number;
  /** Names the setting behind timeoutMs in the give-up message. */
  timeoutSetting?: string;
  /** Aborting (SIGTERM) ends the wait promptly with StartupAborted. */
  signal?: AbortSignal;
  /** Decides per failure; default: network errors are retried, anything else is final. */
  classify?: Classify;
  /** The first pause; it doubles per attempt up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** An attempt still running after this counts as failed (ATTEMPT_TIMEOUT) and is retried. */
  attemptTimeoutMs?: number;
  /** Injected in tests: a fake clock and a sleep that only advances it. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const DEFAULT_BASE_DELAY_MS = 250;
export const DEFAULT_MAX_DELAY_MS = 4000;
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 10_000;

/** The wait ended without the dependency: `final` (retrying cannot fix it) or `timeout`. */
export class DependencyError extends Error {
  override name = 'DependencyError';
  readonly dependency: string;
  readonly target: string;
  readonly code: string;
  readonly kind: 'final' | 'timeout';
  readonly attempts: number;
  constructor(
    message: string,
    details: {
      dependency: string;
      target: string;
      code: string;
      kind: 'final' | 'timeout';
      attempts: number;
      cause: unknown;
    },
  ) {
    super(message, { cause: details.cause });
    this.dependency = details.dependency;
    this.target = details.target;
    this.code = details.code;
    this.kind = details.kind;
    this.attempts = details.attempts;
  }
}

/** The wait was stopped (SIGTERM during startup): not a failure, the shutdown handler exits. */
export class StartupAborted extends Error {
  override name = 'StartupAborted';
}

/** A probe's own "not yet" (e.g. a broker without a controller): always retried. */
export class NotReadyYet extends Error {
  override name = 'NotReadyYet';
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

/** Network failures that a dependency coming up (or a Service getting endpoints) cures. */
export const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ENOTFOUND', // a headless Service's pod name resolves only once the pod exists
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'EADDRNOTAVAIL',
]);

/** The error, its `cause`, the cause's cause, … (bounded, in case of a cycle). */
export function errorChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && chain.length < 8) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

function stringField(error: unknown, field: string): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as Record<string, unknown>)[field];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** The first string `code` along the cause chain, e.g. ECONNREFUSED inside a client's wrapper. */
export function errorCode(error: unknown): string | undefined {
  for (const e of errorChain(error)) {
    const code = stringField(e, 'code');
    if (code !== undefined) return code;
  }
  return undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Default verdict: our own "not yet" and network failures are retried; the rest is final. */
export function classifyNetworkError(error: unknown): Verdict {
  for (const e of errorChain(error)) {
    if (e instanceof NotReadyYet) return { retry: true, code: e.code };
    const code = stringField(e, 'code');
    if (code !== undefined && TRANSIENT_NETWORK_CODES.has(code)) return { retry: true, code };
  }
  return {
    retry: false,
    code: errorCode(error) ?? (error instanceof Error ? error.name : 'UNKNOWN'),
  };
}

/** The pause before attempt `attempt + 1`: base, doubled per attempt, capped. */
export function backoffDelayMs(
  attempt: number,
  baseMs = DEFAULT_BASE_DELAY_MS,
  maxMs = DEFAULT_MAX_DELAY_MS,
): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 20));
}

const defaultSleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
  await sleepFor(ms, undefined, { signal });
};

/** Settles with the probe, or rejects when it runs too long or the signal fires. */
async function attempt(
  probe: () => Promise<void>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const running = probe();
  // The probe may still settle after we stopped waiting for it: never an unhandled rejection.
  running.catch(() => undefined);
  try {
    await Promise.race([
      running,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          reject(new NotReadyYet(`no answer within ${timeoutMs} ms`, 'ATTEMPT_TIMEOUT'));
        }, timeoutMs);
        timer.unref();
        onAbort = () => {
          reject(new StartupAborted('stopped while waiting'));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Calls `probe` until it resolves, pausing with exponential backoff (250 ms doubling, capped at
 * 4 s) between attempts, and logs one line per failed attempt: what, where, attempt n, the error
 * code and the pause. Gives up with a DependencyError when a failure is final (`classify` says
 * retrying cannot fix it) or when the next attempt would start after `timeoutMs` (the last pause is
 * shortened to end at the bound; an attempt under way then may take up to `attemptTimeoutMs`);
 * throws StartupAborted as soon as `signal` fires.
 */
export async function waitForDependency(
  name: string,
  target: string,
  probe: () => Promise<void>,
  options: WaitOptions,
): Promise<void> {
  const {
    logger,
    timeoutMs,
    signal,
    timeoutSetting = 'STARTUP_WAIT_SECONDS',
    classify = classifyNetworkError,
    baseDelayMs = DEFAULT_BASE_DELAY_MS,
    maxDelayMs = DEFAULT_MAX_DELAY_MS,
    attemptTimeoutMs = DEFAULT_ATTEMPT_TIMEOUT_MS,
    now = Date.now,
    sleep = defaultSleep,
  } = options;
  const where = { dependency: name, target };
  const started = now();
  const deadline = started + timeoutMs;
  const aborted = () => new StartupAborted(`stopped while waiting for ${name} at ${target}`);
  for (let n = 1; ; n++) {
    if (signal?.aborted) throw aborted();
    try {
      await attempt(probe, attemptTimeoutMs, signal);
      const waitedMs = now() - started;
      if (n > 1) logger.info({ ...where, attempt: n, waitedMs }, `${name} at ${target} is up`);
      else logger.debug({ ...where, attempt: n }, `${name} at ${target} is up`);
      return;
    } catch (error) {
      if (error instanceof StartupAborted || signal?.aborted) throw aborted();
      const verdict = classify(error);
      // The code once: "connect ECONNREFUSED 127.0.0.1:5432", "57P03: the database system is …".
      const message = errorMessage(error);
      const reason = message.includes(verdict.code) ? message : `${verdict.code}: ${message}`;
      if (!verdict.retry) {
        throw new DependencyError(
          `${name} at ${target} failed in a way retrying cannot fix (${reason})` +
            (verdict.hint ? `; ${verdict.hint}` : ''),
          { ...where, code: verdict.code, kind: 'final', attempts: n, cause: error },
        );
      }
      const remainingMs = deadline - now();
      const delayMs = Math.min(backoffDelayMs(n, baseDelayMs, maxDelayMs), remainingMs);
      if (delayMs <= 0) {
        const bound =
          timeoutMs === 0
            ? `${timeoutSetting}=0: not waiting`
            : `gave up after ${n} attempts in ${Math.round((now() - started) / 1000)} s (${timeoutSetting}=${timeoutMs / 1000})`;
        throw new DependencyError(
          `${name} at ${target} is not available: ${bound}; last error ${reason}`,
          {
            ...where,
            code: verdict.code,
            kind: 'timeout',
            attempts: n,
            cause: error,
          },
        );
      }
      logger.warn(
        {
          ...where,
          attempt: n,
          code: verdict.code,
          error: message,
          nextTryInMs: delayMs,
          remainingMs,
        },
        `waiting for ${name} at ${target}: attempt ${n} failed (${reason}); next try in ${delayMs} ms`,
      );
      try {
        await sleep(delayMs, signal);
      } catch (sleepError) {
        if (signal?.aborted) throw aborted();
        throw sleepError;
      }
    }
  }
}
