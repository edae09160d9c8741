import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import {
  createLogger,
  createSql,
  DEFAULT_LIMITS,
  DEFAULT_MIGRATIONS_DIR,
  ensurePartitions,
  migrate,
  type Sql,
} from '@telemetrypulse/shared';

export interface TestDatabase {
  url: string;
  sql: Sql;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.TEST_POSTGRES_ADMIN_URL;
  if (!url)
    throw new Error(
      'TEST_POSTGRES_ADMIN_URL is not set: run tests through mocha with .mocharc.json',
    );
  return url;
}

/**
 * A pool on the database at `url` with every migration applied and the raw table's partitions
 * made, as the processor's startup leaves it. Ends the pool if that fails.
 */
export async function migratedSql(url: string, applicationName: string): Promise<Sql> {
  const logger = createLogger('test', 'silent');
  const sql = createSql({ url, poolSize: 5, logger, applicationName });
  try {
    await migrate(sql, DEFAULT_MIGRATIONS_DIR, logger);
    await ensurePartitions(sql, DEFAULT_LIMITS.maxAgeMs);
  } catch (error) {
    await sql.end();
    throw error;
  }
  return sql;
}

/** A fresh database with every migration applied, on the suite's real PostgreSQL. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${name}`);
  const url = adminUrl().replace(/\/postgres$/, `/${name}`);
  const dropDatabase = async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  };
  let sql: Sql;
  try {
    sql = await migratedSql(url, 'test');
  } catch (error) {
    await dropDatabase();
    throw error;
  }
  const drop = async () => {
    await sql.end();
    await dropDatabase();
  };
  return { url, sql, drop };
}
