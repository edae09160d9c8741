import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { Logger, Sql } from '@telemetrypulse/shared';
import { inDbSpan } from '../queries/db-span.ts';

export interface PostgresRateLimitStoreOptions {
  sql: Sql;
  logger: Logger;
  /** Keeps limiters that share the table apart. */
  prefix?: string;
  /** A store call slower than this fails, and the limiter lets the request through. */
  timeoutMs?: number;
}

interface CounterRow {
  hits: number;
  reset_at: Date;
}

const info = (row: CounterRow): ClientRateLimitInfo => ({
  totalHits: row.hits,
  resetTime: row.reset_at,
});

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`the rate limit store took longer than ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/**
 * An express-rate-limit store in PostgreSQL, so every API replica counts against one limit per
 * client. A window starts with a client's first request and lasts windowMs, on the database's
 * clock (replicas' clocks may differ). Each request is one upsert: the row lock makes concurrent
 * increments from several replicas add up exactly.
 */
export class PostgresRateLimitStore implements Store {
  readonly localKeys = false;
  readonly prefix: string;
  private readonly sql: Sql;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private windowMs = 60_000;
  private sweeper: NodeJS.Timeout | undefined;

  constructor({ sql, logger, prefix = 'api:', timeoutMs = 1000 }: PostgresRateLimitStoreOptions) {
    this.sql = sql;
    this.logger = logger;
    this.prefix = prefix;
    this.timeoutMs = timeoutMs;
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
    // Expired counters are only garbage (an increment restarts them); any replica may sweep.
    this.sweeper = setInterval(() => {
      this.sweep().catch((error: unknown) => {
        this.logger.warn({ err: error }, 'rate limit: deleting expired counters failed');
      });
    }, this.windowMs);
    this.sweeper.unref();
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const [row] = await inDbSpan(
      'rateLimitGet',
      () => this.sql<CounterRow[]>`
        select hits, reset_at from api_rate_limits
        where key = ${this.prefix + key} and reset_at > now()`,
    );
    return row && info(row);
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const [row] = await inDbSpan('rateLimitIncrement', () =>
      withTimeout(
        this.sql<CounterRow[]>`
        insert into api_rate_limits as c (key, hits, reset_at)
        values (${this.prefix + key}, 1, now() + make_interval(secs => ${this.windowMs / 1000}))
        on conflict (key) do update set
          hits = case when c.reset_at <= now() then 1 else c.hits + 1 end,
          reset_at = case when c.reset_at <= now() then excluded.reset_at else c.reset_at end
        returning hits, reset_at`,
        this.timeoutMs,
      ),
    );
    if (!row) throw new Error('the rate limit upsert returned no row');
    return info(row);
  }

  async decrement(key: string): Promise<void> {
    await this.sql`
      update api_rate_limits set hits = greatest(hits - 1, 0)
      where key = ${this.prefix + key} and reset_at > now()`;
  }

  async resetKey(key: string): Promise<void> {
    await this.sql`delete from api_rate_limits where key = ${this.prefix + key}`;
  }

  async resetAll(): Promise<void> {
    await this.sql`delete from api_rate_limits where starts_with(key, ${this.prefix})`;
  }

  shutdown(): void {
    clearInterval(this.sweeper);
  }

  /** Deletes counters whose window ended; returns how many. */
  async sweep(): Promise<number> {
    const result = await this.sql`delete from api_rate_limits where reset_at <= now()`;
    return result.count;
  }
}
