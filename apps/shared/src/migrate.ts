import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import { commonEnv, databaseEnv, startupEnv } from './config.ts';
import type { Sql } from './db.ts';
import type { Logger } from './log.ts';

/** postgres/migrations at the repository (or image) root. */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(
  new URL('../../../postgres/migrations', import.meta.url),
);

/**
 * The migration command's environment (`make migrate`, the chart's Job and init containers). It
 * holds two connections and finishes on its own, so the pool size and shutdown bound are not here.
 */
export const MigrateEnv = Type.Object({
  LOG_LEVEL: commonEnv.LOG_LEVEL,
  DATABASE_URL: databaseEnv.DATABASE_URL,
  ...startupEnv,
  MIGRATIONS_DIR: Type.String({
    default: DEFAULT_MIGRATIONS_DIR,
    description: 'folder of the numbered .sql migrations, applied in file name order',
  }),
  RAW_RETENTION_DAYS: Type.Integer({
    minimum: 1,
    default: 30,
    description:
      "raw event partitions are created from this many days back (the processor's RAW_RETENTION_DAYS) to 2 days ahead",
  }),
});

// Any constant works; it only has to be the same for every migrating process.
const MIGRATION_LOCK_KEY = 7_301_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export async function loadMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = /^(\d+)_([\w-]+)\.sql$/.exec(file);
    if (!match?.[1] || !match[2]) throw new MigrationError(`bad migration file name: ${file}`);
    const text = await readFile(path.join(dir, file), 'utf8');
    migrations.push({
      version: Number(match[1]),
      name: match[2],
      sql: text,
      checksum: createHash('sha256').update(text).digest('hex'),
    });
  }
  const versions = migrations.map((m) => m.version);
  if (new Set(versions).size !== versions.length) {
    throw new MigrationError(`duplicate migration versions in ${dir}`);
  }
  return migrations;
}

/**
 * Applies the migrations not yet applied, each in its own transaction, under an advisory lock
 * so concurrent callers (Helm hook, local stack, tests) serialise. Refuses to run when an
 * applied file was edited afterwards.
 */
export async function migrate(sql: Sql, dir: string, logger: Logger): Promise<number[]> {
  const migrations = await loadMigrations(dir);
  const conn = await sql.reserve();
  try {
    await conn`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    await conn`
      create table if not exists schema_migrations (
        version integer primary key,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`;
    const applied = new Map(
      (
        await conn<{ version: number; checksum: string }[]>`
        select version, checksum from schema_migrations`
      ).map((r) => [r.version, r.checksum]),
    );
    const done: number[] = [];
    for (const migration of migrations) {
      const checksum = applied.get(migration.version);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) {
          throw new MigrationError(
            `migration ${migration.version}_${migration.name} was changed after it was applied`,
          );
        }
        continue;
      }
      // The lock lives on the reserved session; the migration itself runs in a pooled transaction.
      await sql.begin(async (tx) => {
        await tx.unsafe(migration.sql);
        await tx`insert into schema_migrations (version, name, checksum)
                 values (${migration.version}, ${migration.name}, ${migration.checksum})`;
      });
      logger.info({ version: migration.version, name: migration.name }, 'migration applied');
      done.push(migration.version);
    }
    return done;
  } finally {
    await conn`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.catch(() => undefined);
    conn.release();
  }
}
