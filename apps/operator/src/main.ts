// Operator: Site resources → one simulator Deployment each, status and events on the Site, Site
// specs into the registry the processor reads its alert rules from.
import {
  createLogger,
  createMetricsRegistry,
  createSql,
  describeEnv,
  exitOnStartupFailure,
  onShutdown,
  startOpsServer,
  startupWait,
  waitForPostgres,
  type Sql,
} from '@telemetrypulse/shared';
import { loadConfig, OperatorEnv } from './config.ts';
import { startOperator } from './operator.ts';
import { sqlSiteRegistry } from './reconcile/site-registry.ts';
import { loadKubeConfig, makeClients } from './runtime/kube.ts';
import { createOperatorMetrics } from './runtime/metrics.ts';

// Level 'info' until the config is read: a bad LOG_LEVEL must still be reported.
const logger = createLogger('operator', 'info');

async function main(): Promise<void> {
  const config = loadConfig();
  logger.level = config.LOG_LEVEL;
  const metricsRegistry = createMetricsRegistry('operator');
  const metrics = createOperatorMetrics(metricsRegistry);
  const clients = makeClients(loadKubeConfig(config.KUBECONFIG));
  const sql: Sql | undefined = config.DATABASE_URL
    ? createSql({
        url: config.DATABASE_URL,
        poolSize: config.DATABASE_POOL_SIZE,
        logger,
        applicationName: 'operator',
      })
    : undefined;

  const running: { stop: () => Promise<void> }[] = [];
  const startup = new AbortController();
  // Once, whether SIGTERM or a lost Lease asks first.
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      startup.abort();
      // In reverse: the operator (and its Lease) first, the ops server last.
      for (const part of running.reverse()) await part.stop();
      await sql?.end({ timeout: 5 });
    })());
  onShutdown(logger, config.SHUTDOWN_TIMEOUT_MS, stopAll);

  // A leader that lost its Lease exits, and its restart campaigns afresh. It is gone before the
  // Lease can expire for the others: in-flight reconciles get that long at most.
  const exitOnLostLeadership = () => {
    const graceMs = (config.LEASE_DURATION_SECONDS - config.LEASE_RENEW_DEADLINE_SECONDS) * 1000;
    logger.error({ graceMs }, 'lost the leader lease; exiting so a restart campaigns again');
    setTimeout(() => process.exit(1), graceMs).unref();
    void stopAll()
      .catch((error: unknown) => {
        logger.error({ err: error }, 'stopping after the lost lease failed');
      })
      .finally(() => process.exit(1));
  };

  let ready = () => false;
  const ops = await startOpsServer({
    host: config.HTTP_HOST,
    port: config.HTTP_PORT,
    registry: metricsRegistry,
    ready: () => ready(),
  });
  running.push({ stop: () => ops.close() });

  // With a sites registry, its database must be there first (a fresh cluster starts us before it):
  // wait, bounded by STARTUP_WAIT_SECONDS; a wrong password or database name fails at once.
  if (sql) await waitForPostgres(sql, { ...startupWait(config), logger, signal: startup.signal });

  const operator = await startOperator(config, {
    clients,
    siteRegistry: sql ? sqlSiteRegistry(sql) : undefined,
    metrics,
    logger,
    onLostLeadership: exitOnLostLeadership,
  });
  running.push(operator);
  ready = () => operator.ready();
  logger.info(
    {
      port: ops.port,
      identity: config.POD_NAME,
      namespace: config.WATCH_NAMESPACE || '(all)',
      leaderElection: config.LEADER_ELECTION,
      siteRegistry: sql !== undefined,
    },
    'operator started',
  );
}

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'TelemetryPulse operator: reconciles Site resources into simulator Deployments.\n\n' +
      describeEnv(OperatorEnv.properties),
  );
} else {
  main().catch(exitOnStartupFailure(logger));
}
