// A rate-limited work queue with client-go's semantics: a key is queued at most once, never handed
// to two workers at once, and a key that changes while it is processed runs again afterwards.

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

export interface RateLimits {
  /** First retry delay of a failing key; doubles with each failure up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Overall token bucket, so a burst of failures cannot hammer the API server. */
  perSecond: number;
  burst: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  baseDelayMs: 5,
  maxDelayMs: 300_000,
  perSecond: 10,
  burst: 100,
};

/** Per-key exponential backoff combined with an overall token bucket (the larger delay wins). */
export class RateLimiter {
  readonly #limits: RateLimits;
  readonly #timers: Timers;
  readonly #failures = new Map<string, number>();
  #tokens: number;
  #last: number;

  constructor(limits: RateLimits, timers: Timers) {
    this.#limits = limits;
    this.#timers = timers;
    this.#tokens = limits.burst;
    this.#last = timers.now();
  }

  /** The delay before `key` may run again, counting this as one more failure. */
  when(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    const backoff = Math.min(this.#limits.baseDelayMs * 2 ** failures, this.#limits.maxDelayMs);
    return Math.max(backoff, this.#bucketDelay());
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  #bucketDelay(): number {
    const now = this.#timers.now();
    const { perSecond, burst } = this.#limits;
    this.#tokens = Math.min(burst, this.#tokens + ((now - this.#last) / 1000) * perSecond);
    this.#last = now;
    // Reserve a token now, even one that only arrives later: the caller waits for it.
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens / perSecond) * 1000);
  }
}

export class WorkQueue {
  readonly #timers: Timers;
  readonly #limiter: RateLimiter;
  readonly #queue: string[] = [];
  /** Keys waiting to be processed (queued, or re-queued once their processing ends). */
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  /** Delayed adds: the earliest due time wins. */
  readonly #waiting = new Map<string, { due: number; handle: unknown }>();
  #getters: ((key: string | undefined) => void)[] = [];
  #shuttingDown = false;

  constructor(limits: RateLimits = DEFAULT_RATE_LIMITS, timers: Timers = realTimers) {
    this.#timers = timers;
    this.#limiter = new RateLimiter(limits, timers);
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    const getter = this.#getters.shift();
    if (getter) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      getter(key);
    } else {
      this.#queue.push(key);
    }
  }

  addAfter(key: string, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const due = this.#timers.now() + ms;
    const existing = this.#waiting.get(key);
    if (existing && existing.due <= due) return;
    if (existing) this.#timers.clearTimeout(existing.handle);
    const handle = this.#timers.setTimeout(() => {
      this.#waiting.delete(key);
      this.add(key);
    }, ms);
    this.#waiting.set(key, { due, handle });
  }

  /** After a failure: again after the key's backoff. */
  addRateLimited(key: string): void {
    this.addAfter(key, this.#limiter.when(key));
  }

  /** After a success: the key's backoff starts over. */
  forget(key: string): void {
    this.#limiter.forget(key);
  }

  failures(key: string): number {
    return this.#limiter.failures(key);
  }

  /** The next key to process, or undefined once the queue shuts down. Call done(key) after. */
  get(): Promise<string | undefined> {
    const key = this.#queue.shift();
    if (key !== undefined) {
      this.#dirty.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key)) {
      this.#dirty.delete(key);
      this.add(key);
    }
  }

  /** Keys waiting to be handed out (what the depth gauge shows). */
  get length(): number {
    return this.#queue.length;
  }

  shutDown(): void {
    this.#shuttingDown = true;
    for (const { handle } of this.#waiting.values()) this.#timers.clearTimeout(handle);
    this.#waiting.clear();
    this.#queue.length = 0;
    this.#dirty.clear();
    const getters = this.#getters;
    this.#getters = [];
    for (const getter of getters) getter(undefined);
  }
}
