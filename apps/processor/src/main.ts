// Stream processor: telemetry.events → PostgreSQL (raw, 5m/15m aggregates, alerts), rejects → DLQ,
// alert opens/resolves → telemetry.alerts (through the outbox).
import {
  createKafka,
  createLogger,
  createMetricsRegistry,
  createSql,
  describeEnv,
  DEFAULT_ALERT_RULES,
  ensurePartitions,
  ensureTopics,
  exitOnStartupFailure,
  initTracing,
  isDatabaseReachable,
  onShutdown,
  startOpsServer,
  startupWait,
  topicSpecs,
  waitForKafka,
  waitForPostgres,
} from '@telemetrypulse/shared';
import { startOutboxPublisher } from './alerts/outbox.ts';
import { startSiteRules } from './alerts/site-rules.ts';
import { loadConfig, ProcessorEnv } from './config.ts';
import { startProcessor } from './ingest/consumer.ts';
import { startBuildingGauges } from './ops/building-gauges.ts';
import { setHeapGrowing } from './ops/heap.ts';
import { retentionPolicy, startRetention } from './ops/retention.ts';

const PARTITION_CHECK_MS = 3_600_000;

async function main(): Promise<void> {
  const config = loadConfig();
  setHeapGrowing(config.HEAP_GROWING_PERCENT);
  // A bad combination of retention periods fails here, at startup.
  const retention = retentionPolicy(config);
  const logger = createLogger('processor', config.LOG_LEVEL);
  // Started through the preload the SDK is already running; this then returns its handle.
  const tracing = await initTracing('processor');
  if (tracing.enabled) logger.info('tracing enabled');
  const registry = createMetricsRegistry('processor');
  const sql = createSql({
    url: config.DATABASE_URL,
    poolSize: config.DATABASE_POOL_SIZE,
    logger,
    applicationName: 'processor',
  });
  const maxAgeMs = config.RAW_RETENTION_DAYS * 86_400_000;

  // Filled in as startup proceeds, so SIGTERM at any point (also while waiting for PostgreSQL
  // and Kafka) stops what is running and exits 0.
  const startup = new AbortController();
  const running: {
    partitionTimer?: NodeJS.Timeout;
    processor?: Awaited<ReturnType<typeof startProcessor>>;
    retentionSchedule?: ReturnType<typeof startRetention>;
    buildingGauges?: ReturnType<typeof startBuildingGauges>;
    outbox?: Awaited<ReturnType<typeof startOutboxPublisher>>;
    siteRules?: Awaited<ReturnType<typeof startSiteRules>>;
    ops?: Awaited<ReturnType<typeof startOpsServer>>;
  } = {};
  onShutdown(logger, config.SHUTDOWN_TIMEOUT_MS, async () => {
    startup.abort();
    clearInterval(running.partitionTimer);
    // The last batch commits its outbox rows before the publisher's final flush sends them.
    await running.processor?.stop();
    await running.retentionSchedule?.stop();
    await running.buildingGauges?.stop();
    await running.outbox?.stop();
    await running.siteRules?.stop();
    await running.ops?.close();
    await sql.end({ timeout: 5 });
  });

  // On a fresh cluster the processor may start before its dependencies: wait for both at once,
  // bounded by STARTUP_WAIT_SECONDS, instead of exiting at the first refused connection.
  const wait = { ...startupWait(config), logger, signal: startup.signal };
  await Promise.all([
    waitForPostgres(sql, wait),
    waitForKafka(config.KAFKA_BROKERS, { ...wait, clientId: 'processor-startup' }),
  ]);

  await ensurePartitions(sql, maxAgeMs);
  // Days roll over while we run: keep partitions ahead of the event times we accept.
  running.partitionTimer = setInterval(() => {
    ensurePartitions(sql, maxAgeMs).catch((error: unknown) => {
      logger.error({ err: error }, 'could not create partitions');
    });
  }, PARTITION_CHECK_MS);
  // Drops old raw partitions and aggregate rows now and hourly (one replica at a time).
  running.retentionSchedule = startRetention(sql, retention, logger);

  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID ?? 'processor',
    logger,
  });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(
    admin,
    topicSpecs({ events: config.EVENTS_TOPIC, dlq: config.DLQ_TOPIC, alerts: config.ALERTS_TOPIC }),
  );
  await admin.disconnect();

  // Rules and publisher first: the first batch already judges with each site's rules, and
  // the transitions it queues go out at once.
  const siteRules = await startSiteRules({
    sql,
    logger,
    defaults: DEFAULT_ALERT_RULES,
    refreshMs: config.SITE_RULES_REFRESH_SECONDS * 1000,
  });
  running.siteRules = siteRules;
  running.outbox = await startOutboxPublisher({
    sql,
    kafka,
    logger,
    registry,
    topic: config.ALERTS_TOPIC,
  });
  running.buildingGauges = startBuildingGauges({
    sql,
    registry,
    rules: siteRules,
    logger,
    refreshMs: config.BUILDING_METRICS_REFRESH_SECONDS * 1000,
  });
  const processor = await startProcessor({
    kafka,
    sql,
    logger,
    registry,
    topics: { events: config.EVENTS_TOPIC, dlq: config.DLQ_TOPIC },
    groupId: config.CONSUMER_GROUP,
    limits: {
      maxBytes: config.MAX_MESSAGE_BYTES,
      maxFutureMs: config.MAX_FUTURE_SECONDS * 1000,
      maxAgeMs,
    },
    rules: siteRules,
    partitionsConcurrently: config.PARTITIONS_CONCURRENTLY,
    transactionsInFlight: config.STORE_TRANSACTIONS_IN_FLIGHT,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    lateAfterMs: config.LATE_AFTER_SECONDS * 1000,
    letterLimits: { maxPayloadBytes: config.DLQ_MAX_PAYLOAD_BYTES },
    stuckAfterMs: config.STUCK_AFTER_SECONDS * 1000,
  });
  running.processor = processor;
  const ops = await startOpsServer({
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    registry,
    ready: async () => processor.isRunning() && (await isDatabaseReachable(sql)),
  });
  running.ops = ops;
  logger.info(
    { port: ops.port, topic: config.EVENTS_TOPIC, group: config.CONSUMER_GROUP },
    'processor started',
  );
}

if (process.argv.includes('--help')) {
  process.stdout.write(
    'TelemetryPulse processor: Kafka events → PostgreSQL, rejects → dead-letter topic.\n' +
      describeEnv(ProcessorEnv.properties),
  );
} else {
  main().catch(exitOnStartupFailure(createLogger('processor')));
}
