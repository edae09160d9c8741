import postgres from 'postgres';
import type { Logger } from './log.ts';

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  logger: Logger;
  applicationName: string;
}

/** A postgres.js pool; bigint and numeric columns arrive as JS numbers. */
export function createSql({ url, poolSize, logger, applicationName }: DatabaseOptions): Sql {
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
