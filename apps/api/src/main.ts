import {
  createKafka,
  createLogger,
  createMetricsRegistry,
  createSql,
  describeEnv,
  exitOnStartupFailure,
  initTracing,
  onShutdown,
  startupWait,
  tracingActive,
  waitForPostgres,
} from '@telemetrypulse/shared';
import { createApp } from './app.ts';
import { ApiConfigSchema, corsOrigins, loadConfig, SHUTDOWN_RESERVE_MS } from './config.ts';
import { authOptionsFrom } from './http/auth.ts';
import { PostgresRateLimitStore } from './http/rate-limit-store.ts';
import { createKafkaPublisher, warmUp } from './ingest/publisher.ts';
import { startLiveHub, type LiveHub } from './live/hub.ts';
import { startServer, type RunningServer } from './server.ts';
import { withStatementTimeout } from './queries/statement-timeout.ts';

const PRELOAD = 'apps/shared/src/tracing-preload.ts';
const USAGE =
  `Usage: node [--import ./${PRELOAD}] apps/api/src/main.ts\n\n` +
  'Serves the TelemetryPulse HTTP API. The preload adds HTTP and express spans when the OTEL_*\n' +
  'variables turn tracing on.\n\n';

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(USAGE + describeEnv(ApiConfigSchema.properties));
    return;
  }
  const config = loadConfig();
  const logger = createLogger('api', config.LOG_LEVEL);
  // The preload starts tracing before express loads; without it, spans still cover the
  // database and Kafka, but requests get no server span to hang them on.
  const preloaded = tracingActive();
  const tracing = await initTracing('api');
  if (tracing.enabled) {
    if (preloaded) logger.info('tracing enabled');
    else logger.warn(`tracing without HTTP spans: start the API with --import ./${PRELOAD}`);
  }
  // Every connection cancels a statement running past API_STATEMENT_TIMEOUT_MS (answered 503).
  const databaseUrl = withStatementTimeout(config.DATABASE_URL, config.API_STATEMENT_TIMEOUT_MS);
  const sql = createSql({
    url: databaseUrl,
    poolSize: config.DATABASE_POOL_SIZE,
    logger,
    applicationName: 'telemetrypulse-api',
  });
  // Readiness has a connection of its own: slow reads filling the pool must not make every
  // replica unready at once (the Service would then have no endpoint at all).
  const readinessSql = createSql({
    url: databaseUrl,
    poolSize: 1,
    logger,
    applicationName: 'telemetrypulse-api-readiness',
  });
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID ?? 'telemetrypulse-api',
    logger,
  });
  const publisher = createKafkaPublisher({
    kafka,
    topic: config.EVENTS_TOPIC,
    timeoutMs: config.INGEST_TIMEOUT_MS,
    logger,
  });
  // Kafka is not waited for: the publisher connects lazily, so reads are served while it is down
  // (/health/ready/ingest tells when ingest works).
  warmUp(publisher);
  const auth = authOptionsFrom(config);
  if (auth.writeKeys.length === 0)
    logger.warn('API_KEYS is empty: ingest and alert actions answer 401');

  // Filled in as startup proceeds, so SIGTERM at any point (also while waiting for the
  // database) stops what is running and exits 0.
  const startup = new AbortController();
  const running: {
    live?: LiveHub;
    server?: RunningServer;
    rateLimitStore?: PostgresRateLimitStore;
  } = {};
  onShutdown(logger, config.SHUTDOWN_TIMEOUT_MS, async () => {
    startup.abort();
    // The drain starts at once (every response from now on closes its connection); streams
    // never end by themselves and would hold it open, so they are ended meanwhile. Leave time
    // for the rest of shutdown within SHUTDOWN_TIMEOUT_MS.
    await Promise.all([
      running.server?.close({
        graceMs: config.SHUTDOWN_TIMEOUT_MS - SHUTDOWN_RESERVE_MS - config.SHUTDOWN_DRAIN_MS,
        drainMs: config.SHUTDOWN_DRAIN_MS,
      }),
      running.live?.close(),
    ]);
    await publisher.close();
    running.rateLimitStore?.shutdown();
    await sql.end({ timeout: 5 });
    await readinessSql.end({ timeout: 1 });
  });

  // On a fresh cluster the API may start before PostgreSQL: wait (bounded), do not exit.
  await waitForPostgres(sql, { ...startupWait(config), logger, signal: startup.signal });

  const registry = createMetricsRegistry('api');
  const live = await startLiveHub({
    sql,
    logger,
    markerMs: config.LIVE_HEARTBEAT_MS,
    limits: {
      maxStreamsPerClient: config.LIVE_MAX_STREAMS_PER_CLIENT,
      maxUnsentBytes: config.LIVE_MAX_UNSENT_BYTES,
      knownKeys: [...auth.writeKeys, ...auth.readKeys],
      registry,
    },
  });
  running.live = live;
  const rateLimitStore =
    config.RATE_LIMIT_STORE === 'postgres' &&
    (config.RATE_LIMIT_PER_MINUTE > 0 || config.RATE_LIMIT_PER_KEY_PER_MINUTE > 0)
      ? new PostgresRateLimitStore({ sql, logger })
      : undefined;
  running.rateLimitStore = rateLimitStore;
  const app = createApp({
    sql,
    readinessSql,
    registry,
    logger,
    publisher,
    live,
    liveHeartbeatMs: config.LIVE_HEARTBEAT_MS,
    liveMaxClients: config.LIVE_MAX_CLIENTS,
    liveReplayMs: config.LIVE_REPLAY_MINUTES * 60_000,
    auth,
    security: {
      corsOrigins: corsOrigins(config),
      rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
      rateLimitPerKeyPerMinute: config.RATE_LIMIT_PER_KEY_PER_MINUTE,
      rateLimitStore,
    },
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    responseCompression: config.RESPONSE_COMPRESSION === 'on',
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    trustProxyHops: config.TRUST_PROXY_HOPS,
    readinessTimeoutMs: config.READINESS_TIMEOUT_MS,
    liveLookbackMs: config.KPIS_LIVE_LOOKBACK_MINUTES * 60_000,
    ingestRetryAfterSeconds: config.INGEST_RETRY_AFTER_SECONDS,
    readCacheTtlMs: config.READ_CACHE_TTL_MS,
    readCacheCoarseTtlMs: config.READ_CACHE_COARSE_TTL_MS,
  });
  const server = await startServer(app, { host: config.HTTP_HOST, port: config.HTTP_PORT });
  running.server = server;
  logger.info({ host: config.HTTP_HOST, port: server.port }, 'api listening');
}

// A fixed level: LOG_LEVEL itself may be what failed validation.
main().catch(exitOnStartupFailure(createLogger('api', 'info')));
