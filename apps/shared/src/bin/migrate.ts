#!/usr/bin/env node
// The one migration command: local stack, tests and the Helm pre-install/pre-upgrade Job.
import { describeEnv, readConfig, startupWait } from '../config.ts';
import { createSql, waitForPostgres } from '../db.ts';
import { createLogger } from '../log.ts';
import { migrate, MigrateEnv } from '../migrate.ts';
import { ensurePartitions } from '../partitions.ts';
import { exitOnStartupFailure } from '../shutdown.ts';
import { StartupAborted } from '../wait.ts';

const logger = createLogger('migrate');

/**
 * On a fresh cluster this runs before PostgreSQL accepts connections: wait for it (bounded by
 * STARTUP_WAIT_SECONDS). SIGTERM during the wait ends the command at once, non-zero: nothing was
 * migrated. Once connected, a signal ends it as before (the open transaction rolls back).
 */
async function waitForDatabase(
  sql: ReturnType<typeof createSql>,
  wait: ReturnType<typeof startupWait>,
): Promise<void> {
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    logger.warn({ signal }, `${signal} while waiting for PostgreSQL: nothing was migrated`);
    stop.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    await waitForPostgres(sql, { ...wait, logger, signal: stop.signal });
  } catch (error) {
    if (error instanceof StartupAborted) {
      await sql.end({ timeout: 1 });
      process.exit(143);
    }
    throw error;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'TelemetryPulse migrate: applies postgres/migrations and creates the raw event partitions.\n\n' +
      describeEnv(MigrateEnv.properties),
  );
  process.exit(0);
}

try {
  const config = readConfig(MigrateEnv);
  const sql = createSql({
    url: config.DATABASE_URL,
    poolSize: 2,
    logger,
    applicationName: 'migrate',
  });
  try {
    await waitForDatabase(sql, startupWait(config));
    const applied = await migrate(sql, config.MIGRATIONS_DIR, logger);
    const created = await ensurePartitions(sql, config.RAW_RETENTION_DAYS * 86_400_000);
    logger.info({ applied, partitionsCreated: created }, 'database is up to date');
  } finally {
    await sql.end();
  }
} catch (error) {
  exitOnStartupFailure(logger)(error);
}
