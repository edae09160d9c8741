import postgres from 'postgres';
import { ConfigError } from './config.ts';
import type { Logger } from './log.ts';
import { classifyNetworkError, waitForDependency, type Verdict, type WaitOptions } from './wait.ts';

export type Sql = postgres.Sql;
/** A connection inside a transaction: reserved for it, so every query sent on it is part of it. */
export type Tx = postgres.ReservedSql;

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  logger: Logger;
  applicationName: string;
}

/**
 * A postgres.js pool; bigint and numeric columns arrive as JS numbers. Connects lazily: nothing
 * is tried until the first query (see waitForPostgres). A DATABASE_URL that is not a URL is a
 * ConfigError (postgres.js's own error would carry the URL, password included, into the log).
 */
export function createSql({ url, poolSize, logger, applicationName }: DatabaseOptions): Sql {
  try {
    return pool(url, poolSize, logger, applicationName);
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_INVALID_URL') throw error;
    throw new ConfigError(
      'invalid configuration:\n  DATABASE_URL is not a valid URL (expected postgres://user:password@host:port/database)',
    );
  }
}

function pool(url: string, poolSize: number, logger: Logger, applicationName: string): Sql {
  return postgres(url, {
    max: poolSize,
    idle_timeout: 30,
    connect_timeout: 10,
    connection: { application_name: applicationName },
    onnotice: (notice) => {
      logger.debug({ notice: notice.message }, 'postgres notice');
    },
    types: {
      bigint: {
        to: 20,
        from: [20, 1700],
        serialize: (value: number) => String(value),
        parse: (value: string) => Number(value),
      },
    },
  });
}

/** True when a simple query succeeds; readiness probes use it. */
export async function isDatabaseReachable(sql: Sql): Promise<boolean> {
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  }
}

/** Where a pool connects, without credentials: `host:port/database`. */
export function postgresTarget(sql: Sql): string {
  const { host, port, database } = sql.options;
  const hosts = host.map((h, i) => `${h}:${port[i] ?? port[0] ?? 5432}`).join(',');
  return `${hosts}/${database}`;
}

// SQLSTATEs of a server that is there but not serving yet (or any more); any other server error,
// e.g. 28P01 (bad password), 28000 (unknown role, pg_hba) or 3D000 (no such database), is final.
const TRANSIENT_SQLSTATES = new Set([
  '57P01', // admin_shutdown: a restart, e.g. the image's init phase ending
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: "the database system is starting up"
  '53300', // too_many_connections
]);
// postgres.js's own connection errors (a socket that opened and went away, a slow handshake).
const TRANSIENT_CLIENT_CODES = new Set([
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
]);
const HINTS: Record<string, string> = {
  '28P01': 'check the user and password in DATABASE_URL',
  '28000': 'check the user in DATABASE_URL and the server pg_hba.conf',
  '3D000': 'check the database name in DATABASE_URL (the migration command does not create it)',
};

/** Retry verdict for a failed connection or `select 1`. */
export function classifyPostgresError(error: unknown): Verdict {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && error instanceof postgres.PostgresError) {
    // Class 08: connection exceptions.
    if (TRANSIENT_SQLSTATES.has(code) || code.startsWith('08')) return { retry: true, code };
    const hint = HINTS[code];
    return hint === undefined ? { retry: false, code } : { retry: false, code, hint };
  }
  if (typeof code === 'string' && TRANSIENT_CLIENT_CODES.has(code)) return { retry: true, code };
  return classifyNetworkError(error);
}

/**
 * Waits until the pool runs `select 1`: a refused connection, an unknown host or a server still
 * starting (57P03) are retried within `options.timeoutMs`; a wrong password or database fails at once.
 */
export async function waitForPostgres(
  sql: Sql,
  options: Omit<WaitOptions, 'classify'>,
): Promise<void> {
  await waitForDependency(
    'PostgreSQL',
    postgresTarget(sql),
    async () => {
      await sql`select 1`;
    },
    { classify: classifyPostgresError, ...options },
  );
}
