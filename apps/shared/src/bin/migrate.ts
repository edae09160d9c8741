#!/usr/bin/env node
// The one migration command: local stack, tests and the Helm pre-install/pre-upgrade Job.
import { Type } from '@sinclair/typebox';
import { commonEnv, databaseEnv, readConfig } from '../config.ts';
import { createSql } from '../db.ts';
import { createLogger } from '../log.ts';
import { DEFAULT_MIGRATIONS_DIR, migrate } from '../migrate.ts';
import { ensurePartitions } from '../partitions.ts';
import { exitOnStartupFailure } from '../shutdown.ts';

const logger = createLogger('migrate');
try {
  const config = readConfig(
    Type.Object({
      ...commonEnv,
      ...databaseEnv,
      MIGRATIONS_DIR: Type.String({ default: DEFAULT_MIGRATIONS_DIR }),
      RAW_RETENTION_DAYS: Type.Integer({ minimum: 1, default: 30 }),
    }),
  );
  const sql = createSql({
    url: config.DATABASE_URL,
    poolSize: 2,
    logger,
    applicationName: 'migrate',
  });
  try {
    const applied = await migrate(sql, config.MIGRATIONS_DIR, logger);
    const created = await ensurePartitions(sql, config.RAW_RETENTION_DAYS * 86_400_000);
    logger.info({ applied, partitionsCreated: created }, 'database is up to date');
  } finally {
    await sql.end();
  }
} catch (error) {
  exitOnStartupFailure(logger)(error);
}
