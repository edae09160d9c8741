import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  clearSiteSpecs,
  createLogger,
  createSql,
  simulatorEnv,
  upsertSites,
  type Site,
} from '@telemetrypulse/shared';
import { startChild, type Child } from '../child.ts';
import { startKafkaBroker } from '../kafka-broker.ts';
import { REPO_ROOT } from '../paths.ts';
import { isListening, waitFor } from '../ports.ts';
import { startPostgresServer } from '../postgres-server.ts';
import { loadSites } from '../sites.ts';
import {
  decideRestart,
  DEFAULT_RESTART_POLICY,
  describeExit,
  exitReason,
  type ExitReason,
  type RestartPolicy,
} from './restart-policy.ts';
import { planSimulators, watchSites, type SimulatorSpec } from './site-sync.ts';
import { STACK_FILES, type AppStatus, type StackSettings, type StackState } from './settings.ts';

const log = (message: string) => {
  console.log(`[${new Date().toISOString()}] ${message}`);
};

async function assertPortFree(port: number, variable: string): Promise<void> {
  if (await isListening(port)) {
    throw new Error(`port ${port} is already in use; set ${variable} to another port`);
  }
}

// The tracing preload patches http/express before the app loads them; it does nothing unless an
// OTEL exporter is configured, so every app starts through it.
const TRACING_PRELOAD = path.join(REPO_ROOT, 'apps', 'shared', 'src', 'tracing-preload.ts');

function appEntry(app: string): string[] {
  return ['--import', TRACING_PRELOAD, path.join(REPO_ROOT, 'apps', app, 'src', 'main.ts')];
}

interface RunningSimulator {
  spec: SimulatorSpec;
  port: number;
  stop: () => Promise<void>;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

/**
 * Runs the whole local platform in the foreground until SIGTERM: Kafka, PostgreSQL, migrations,
 * the processor, the API and one simulator per Site manifest. `make up` starts this detached.
 * An app that exits on its own is started again after a backoff (`policy`); Kafka and PostgreSQL
 * are not. Nothing is restarted once stopping has begun.
 */
export async function runStack(
  settings: StackSettings,
  policy: RestartPolicy = DEFAULT_RESTART_POLICY,
): Promise<void> {
  mkdirSync(STACK_FILES.logs, { recursive: true });
  const apps: Record<string, AppStatus> = {};
  const state: StackState = {
    state: 'starting',
    supervisorPid: process.pid,
    pids: {},
    apps,
    endpoints: {},
    sites: [],
    simulated: [],
  };
  // Written whole and renamed, so `make status` never reads half a file.
  const save = () => {
    const tmp = `${STACK_FILES.state}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
    renameSync(tmp, STACK_FILES.state);
  };
  const stoppers: { name: string; stop: () => Promise<void> }[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    state.state = 'stopping';
    save();
    for (const { name, stop } of stoppers.reverse()) {
      log(`stopping ${name}`);
      await stop().catch((error: unknown) => {
        log(`could not stop ${name}: ${String(error)}`);
      });
    }
    rmSync(STACK_FILES.pid, { force: true });
    rmSync(STACK_FILES.state, { force: true });
    log('stopped');
    process.exit(code);
  };
  process.once('SIGTERM', () => void stopAll(0));
  process.once('SIGINT', () => void stopAll(0));
  writeFileSync(STACK_FILES.pid, `${process.pid}\n`);
  save();

  try {
    const sites: Site[] = loadSites(settings.SITES_DIR);
    if (sites.length === 0) throw new Error(`no Site manifests in ${settings.SITES_DIR}`);
    state.sites = sites.map((s) => s.siteId);

    let brokers = settings.KAFKA_BROKERS;
    if (!brokers) {
      await assertPortFree(settings.KAFKA_PORT, 'KAFKA_PORT');
      await assertPortFree(settings.KAFKA_CONTROLLER_PORT, 'KAFKA_CONTROLLER_PORT');
      log('starting Kafka');
      const kafka = await startKafkaBroker({
        dir: STACK_FILES.kafka,
        port: settings.KAFKA_PORT,
        controllerPort: settings.KAFKA_CONTROLLER_PORT,
        logFile: path.join(STACK_FILES.logs, 'kafka.log'),
      });
      stoppers.push({ name: 'kafka', stop: () => kafka.stop() });
      state.pids.kafka = kafka.child.pid;
      brokers = kafka.brokers;
    }
    state.endpoints.kafka = brokers;

    let databaseUrl = settings.DATABASE_URL;
    if (!databaseUrl) {
      await assertPortFree(settings.POSTGRES_PORT, 'POSTGRES_PORT');
      log('starting PostgreSQL');
      const postgres = await startPostgresServer({
        dataDir: STACK_FILES.postgres,
        port: settings.POSTGRES_PORT,
        logFile: path.join(STACK_FILES.logs, 'postgres.log'),
      });
      stoppers.push({ name: 'postgres', stop: () => postgres.stop() });
      state.pids.postgres = postgres.child.pid;
      databaseUrl = postgres.url;
    }
    state.endpoints.postgres = databaseUrl.replace(/\/\/[^@]*@/, '//');
    save();

    const env = {
      ...process.env,
      KAFKA_BROKERS: brokers,
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: settings.LOG_LEVEL,
      HTTP_HOST: '127.0.0.1',
    };
    const logFile = (name: string) => path.join(STACK_FILES.logs, `${name}.log`);
    /**
     * Starts an app and keeps it running: each unexpected exit is logged and restarted. The
     * returned function stops it for good (a simulator whose Site went away).
     */
    const start = (
      name: string,
      app: string[],
      extra: Record<string, string>,
    ): (() => Promise<void>) => {
      let child: Child | undefined;
      let timer: NodeJS.Timeout | undefined;
      let failures = 0;
      const exitedOnItsOwn = (startedAt: number, reason: ExitReason, pid?: number) => {
        if (stopping || stopped) return;
        const exitedAt = Date.now();
        const decision = decideRestart(policy, failures, startedAt, exitedAt);
        failures = decision.failures;
        const status = apps[name];
        if (status) {
          status.status = 'restarting';
          status.lastExit = { ...reason, at: new Date(exitedAt).toISOString() };
          status.restartAt = new Date(decision.restartAt).toISOString();
        }
        save();
        log(
          `${name}${pid === undefined ? '' : ` (pid ${pid})`} exited with ${describeExit(reason)} ` +
            `after ${seconds(exitedAt - startedAt)}; restarting in ${seconds(decision.delayMs)}; ` +
            `see ${logFile(name)}`,
        );
        timer = setTimeout(() => {
          timer = undefined;
          if (stopping || stopped) return;
          launch(true);
        }, decision.delayMs);
      };
      const launch = (restart: boolean) => {
        const startedAt = Date.now();
        const previous = apps[name];
        const restarts = (previous?.restarts ?? 0) + (restart ? 1 : 0);
        try {
          child = startChild({
            name,
            command: process.execPath,
            args: app,
            env: { ...env, ...extra },
            logFile: logFile(name),
          });
        } catch (error) {
          if (previous) previous.restarts = restarts;
          exitedOnItsOwn(startedAt, {
            error: error instanceof Error ? error.message : String(error),
          });
          return;
        }
        const { pid, exited } = child;
        state.pids[name] = pid;
        apps[name] = {
          pid,
          status: 'running',
          startedAt: new Date(startedAt).toISOString(),
          restarts,
          ...(previous?.lastExit ? { lastExit: previous.lastExit } : {}),
        };
        save();
        if (restart) log(`${name} restarted (pid ${pid}, restart ${restarts})`);
        void exited.then((how) => {
          exitedOnItsOwn(startedAt, exitReason(how), pid);
        });
      };
      launch(false);
      let stopped = false;
      const stopper = {
        name,
        stop: async () => {
          stopped = true;
          clearTimeout(timer);
          await child?.stop();
          const status = apps[name];
          if (status) {
            status.status = 'stopped';
            delete status.restartAt;
          }
        },
      };
      stoppers.push(stopper);
      return async () => {
        stoppers.splice(stoppers.indexOf(stopper), 1);
        await stopper.stop();
        // Gone from `make status`, as a deleted Site's simulator is gone from the cluster.
        Reflect.deleteProperty(apps, name);
        Reflect.deleteProperty(state.pids, name);
      };
    };

    log('applying migrations');
    const migrate = startChild({
      name: 'migrate',
      command: process.execPath,
      args: [path.join(REPO_ROOT, 'apps', 'shared', 'src', 'bin', 'migrate.ts')],
      env,
      logFile: logFile('migrate'),
    });
    const migrated = await migrate.exited;
    if (migrated !== 0)
      throw new Error(`migrations failed (${migrated}); see ${logFile('migrate')}`);
    // The registry gets the Site specs, so per-site alert thresholds reach the processor.
    const registry = createSql({
      url: databaseUrl,
      poolSize: 1,
      logger: createLogger('stack', 'warn'),
      applicationName: 'stack',
    });
    try {
      await upsertSites(registry, sites);
    } finally {
      await registry.end();
    }

    await assertPortFree(settings.API_PORT, 'API_PORT');
    // Same young-generation bound as in the chart: it keeps the processor's RSS near its heap.
    start('processor', ['--max-semi-space-size=8', ...appEntry('processor')], {
      HTTP_PORT: String(settings.PROCESSOR_METRICS_PORT),
    });
    start('api', appEntry('api'), {
      HTTP_PORT: String(settings.API_PORT),
      API_KEYS: settings.API_KEYS,
    });
    const simulators = new Map<string, RunningSimulator>();
    const startSimulator = (site: Site) => {
      const used = new Set([...simulators.values()].map((s) => s.port));
      let port = settings.SIMULATOR_METRICS_PORT;
      while (used.has(port)) port += 1;
      const spec = simulatorEnv(site);
      const stop = start(`simulator-${site.siteId}`, appEntry('simulator'), {
        ...spec,
        HTTP_PORT: String(port),
      });
      simulators.set(site.siteId, { spec, port, stop });
    };
    const showSimulators = () => {
      state.simulated = [...simulators.keys()].sort();
      const ports = [...simulators.values()].map((s) => s.port).sort((a, b) => a - b);
      state.endpoints.simulatorMetrics =
        ports.length === 0
          ? '(no simulator: every site is paused)'
          : `http://localhost:${ports.join(',')}/metrics`;
    };
    for (const site of planSimulators(new Map(), sites).start) startSimulator(site);
    showSimulators();
    state.endpoints.api = `http://localhost:${settings.API_PORT}`;
    state.endpoints.processorMetrics = `http://localhost:${settings.PROCESSOR_METRICS_PORT}/metrics`;
    save();

    // Edited manifests apply while the stack runs, as the operator applies edited Sites: the
    // registry gets the specs (the processor reloads its alert rules on the notification) and
    // simulators start, restart or stop to match.
    let current = sites;
    const applySites = async (next: Site[]) => {
      if (stopping) return;
      const nextIds = new Set(next.map((site) => site.siteId));
      const gone = current.filter((site) => !nextIds.has(site.siteId)).map((site) => site.siteId);
      const sql = createSql({
        url: databaseUrl,
        poolSize: 1,
        logger: createLogger('stack', 'warn'),
        applicationName: 'stack',
      });
      let changed: string[];
      try {
        changed = [...(await upsertSites(sql, next)), ...(await clearSiteSpecs(sql, gone))];
      } finally {
        await sql.end();
      }
      const running = new Map([...simulators].map(([id, sim]) => [id, sim.spec]));
      const plan = planSimulators(running, next);
      for (const id of [...plan.stop, ...plan.restart.map((site) => site.siteId)]) {
        await simulators.get(id)?.stop();
        simulators.delete(id);
      }
      for (const site of [...plan.restart, ...plan.start]) startSimulator(site);
      current = next;
      state.sites = next.map((site) => site.siteId);
      showSimulators();
      save();
      const names = (list: Site[]) => list.map((site) => site.siteId).join(', ') || '-';
      log(
        `sites applied from ${settings.SITES_DIR}: specs changed ${changed.join(', ') || '-'}; ` +
          `simulators started ${names(plan.start)}, restarted ${names(plan.restart)}, ` +
          `stopped ${plan.stop.join(', ') || '-'}`,
      );
    };
    let applying = Promise.resolve();
    const stopWatching = watchSites(
      settings.SITES_DIR,
      (next) => {
        applying = applying
          .then(() => applySites(next))
          .catch((error: unknown) => {
            log(`could not apply the sites: ${String(error)}`);
          });
      },
      (error) => {
        log(`sites in ${settings.SITES_DIR} not applied, the running ones stay: ${error.message}`);
      },
    );
    stoppers.push({
      name: 'the watch on the Site manifests',
      stop: async () => {
        stopWatching();
        await applying;
      },
    });

    await waitFor(
      'the API to be ready',
      async () => (await fetch(`http://127.0.0.1:${settings.API_PORT}/health/ready`)).ok,
      60_000,
      500,
    );
    state.state = 'ready';
    save();
    log('ready');
  } catch (error) {
    stopping = true;
    state.state = 'failed';
    state.error = error instanceof Error ? error.message : String(error);
    save();
    log(`failed: ${state.error}`);
    // Leave the state file for `up` to read the error; stop what did start.
    for (const { name, stop } of stoppers.reverse()) {
      log(`stopping ${name}`);
      await stop().catch(() => undefined);
    }
    rmSync(STACK_FILES.pid, { force: true });
    process.exit(1);
  }
}
