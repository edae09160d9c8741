import {
  createLogger,
  createMetricsRegistry,
  createSql,
  describeEnv,
  exitOnStartupFailure,
  onShutdown,
} from '@telemetrypulse/shared';
import { createApp } from './app.ts';
import { ApiConfigSchema, loadConfig } from './config.ts';
import { startServer } from './server.ts';

const USAGE = 'Usage: node apps/api/src/main.ts\n\nServes the TelemetryPulse HTTP API.\n\n';

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(USAGE + describeEnv(ApiConfigSchema.properties));
    return;
  }
  const config = loadConfig();
  const logger = createLogger('api', config.LOG_LEVEL);
  const sql = createSql({
    url: config.DATABASE_URL,
    poolSize: config.DATABASE_POOL_SIZE,
    logger,
    applicationName: 'telemetrypulse-api',
  });
  const app = createApp({
    sql,
    registry: createMetricsRegistry('api'),
    logger,
    readinessTimeoutMs: config.READINESS_TIMEOUT_MS,
    liveLookbackMs: config.KPIS_LIVE_LOOKBACK_MINUTES * 60_000,
  });
  const server = await startServer(app, { host: config.HTTP_HOST, port: config.HTTP_PORT });
  logger.info({ host: config.HTTP_HOST, port: server.port }, 'api listening');

  onShutdown(logger, config.SHUTDOWN_TIMEOUT_MS, async () => {
    await server.close();
    await sql.end({ timeout: 5 });
  });
}

// A fixed level: LOG_LEVEL itself may be what failed validation.
main().catch(exitOnStartupFailure(createLogger('api', 'info')));
