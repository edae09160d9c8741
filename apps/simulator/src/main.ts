import { randomInt } from 'node:crypto';
import {
  createKafka,
  createLogger,
  createMetricsRegistry,
  describeEnv,
  ensureTopics,
  exitOnStartupFailure,
  initTracing,
  onShutdown,
  startOpsServer,
  startupWait,
  topicSpecs,
  waitForKafka,
  type OpsServer,
} from '@telemetrypulse/shared';
import { SimulatorConfigSchema, loadConfig } from './config.ts';
import { startSimulator, type Simulator } from './publisher.ts';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'TelemetryPulse simulator: publishes the readings of one simulated building site to Kafka.\n\n' +
      describeEnv(SimulatorConfigSchema.properties),
  );
  process.exit(0);
}

// Level 'info' until the config is read: a bad LOG_LEVEL must still be reported.
const logger = createLogger('simulator', 'info');

async function main(): Promise<void> {
  const config = loadConfig();
  logger.level = config.LOG_LEVEL;
  // No-op unless the OTEL_* variables name an exporter; spans are flushed on shutdown.
  const tracing = await initTracing('simulator');
  if (tracing.enabled) logger.info('tracing enabled');
  const registry = createMetricsRegistry('simulator');
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID ?? `simulator-${config.SITE_ID}`,
    logger,
  });

  // Filled in as startup proceeds, so SIGTERM at any point stops what is running.
  const running: { simulator?: Simulator; ops?: OpsServer } = {};
  const startup = new AbortController();
  onShutdown(logger, config.SHUTDOWN_TIMEOUT_MS, async () => {
    startup.abort();
    await running.simulator?.stop();
    await running.ops?.close();
  });

  const ops = await startOpsServer({
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    registry,
    ready: () => running.simulator?.isReady() ?? false,
  });
  running.ops = ops;
  logger.info({ port: ops.port }, 'ops server listening');

  // On a fresh cluster the broker may not be up yet: wait (bounded by STARTUP_WAIT_SECONDS),
  // alive on /livez and not ready meanwhile.
  await waitForKafka(config.KAFKA_BROKERS, {
    ...startupWait(config),
    logger,
    signal: startup.signal,
    clientId: `simulator-${config.SITE_ID}-startup`,
  });

  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topicSpecs({ events: config.EVENTS_TOPIC }));
  } finally {
    await admin.disconnect();
  }

  const seed = config.SIM_SEED ?? randomInt(2 ** 32);
  const simulator = await startSimulator({
    kafka,
    topic: config.EVENTS_TOPIC,
    site: {
      siteId: config.SITE_ID,
      zones: config.SITE_ZONES,
      devicesPerZone: config.DEVICES_PER_ZONE,
      sensors: config.SENSORS,
      anomalyRate: config.ANOMALY_RATE,
      seed,
    },
    eventsPerSecond: config.EVENTS_PER_SECOND,
    logger,
    registry,
  });
  running.simulator = simulator;
  // Without maxEvents the run only ends through stop(); anything else is a fault.
  simulator.done.catch((error: unknown) => {
    logger.fatal({ err: error }, 'simulator failed');
    process.exit(1);
  });
}

main().catch(exitOnStartupFailure(logger));
