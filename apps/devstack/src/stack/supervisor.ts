import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  clearSiteSpecs,
  createLogger,
  createSql,
  simulatorEnv,
  upsertSites,
  type Site,
  type Sql,
} from '@telemetrypulse/shared';
import { startChild, type Child } from '../child.ts';
import { startKafkaBroker } from '../kafka-broker.ts';
import { NODE_COMPILE_CACHE_DIR, REPO_ROOT } from '../paths.ts';
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
import { planSimulators, watchSites, type SimulatorPlan, type SimulatorSpec } from './site-sync.ts';
import { STACK_FILES, type AppStatus, type StackSettings, type StackState } from './settings.ts';

/**
 * The processor's V8 flags, as charts/telemetrypulse sets them in NODE_OPTIONS, plus the bound
 * Node itself gives the old generation in the pod (half the chart's memory limit): the pod's
 * heap, whatever this machine's memory.
 */
export const PROCESSOR_V8_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=384'];

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

const logFile = (name: string) => path.join(STACK_FILES.logs, `${name}.log`);

const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

interface Stopper {
  name: string;
  stop: () => Promise<void>;
}

/** What the phases share: the state file's content and what to stop, in start order. */
interface Stack {
  settings: StackSettings;
  policy: RestartPolicy;
  state: StackState;
  /** `state.apps`, known to be there. */
  apps: Record<string, AppStatus>;
  stoppers: Stopper[];
  /** Set once stopping (or failing) has begun: from then on nothing is restarted or applied. */
  stopping: boolean;
}

/**
 * Runs the whole local platform in the foreground until SIGTERM: Kafka, PostgreSQL, migrations,
 * the processor, the API and one simulator per Site manifest. `make up` starts this detached.
 * An app that exits on its own is started again after a backoff (`policy`); Kafka and PostgreSQL
 * are not. Nothing is restarted once stopping has begun. A phase that fails stops what the
 * earlier ones started, as SIGTERM does.
 */
export async function runStack(
  settings: StackSettings,
  policy: RestartPolicy = DEFAULT_RESTART_POLICY,
): Promise<void> {
  mkdirSync(STACK_FILES.logs, { recursive: true });
  const stack = newStack(settings, policy);
  process.once('SIGTERM', () => void shutDown(stack));
  process.once('SIGINT', () => void shutDown(stack));
  writeFileSync(STACK_FILES.pid, `${process.pid}\n`);
  saveState(stack.state);

  try {
    const sites = readSites(stack);
    const infrastructure = await startInfrastructure(stack);
    const env = appEnv(settings, infrastructure);
    await migrateAndRegister(env, infrastructure.databaseUrl, sites);
    await startApps(stack, env, infrastructure.databaseUrl, sites);
    await waitForApi(settings.API_PORT);
    stack.state.state = 'ready';
    saveState(stack.state);
    log('ready');
  } catch (error) {
    await stopAfterFailure(stack, error);
  }
}

function newStack(settings: StackSettings, policy: RestartPolicy): Stack {
  const apps: Record<string, AppStatus> = {};
  return {
    settings,
    policy,
    apps,
    state: {
      state: 'starting',
      supervisorPid: process.pid,
      pids: {},
      apps,
      endpoints: {},
      sites: [],
      simulated: [],
    },
    stoppers: [],
    stopping: false,
  };
}

// Written whole and renamed, so `make status` never reads half a file.
function saveState(state: StackState): void {
  const tmp = `${STACK_FILES.state}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, STACK_FILES.state);
}

// --- Stopping: one teardown, for SIGTERM/SIGINT and for a phase that failed.

/** Stops what was started, last started first, then removes the pid file. */
async function stopStarted(
  stack: Stack,
  { reportErrors }: { reportErrors: boolean },
): Promise<void> {
  for (const { name, stop } of stack.stoppers.reverse()) {
    log(`stopping ${name}`);
    // One stop that fails must not keep the rest running.
    await stop().catch((error: unknown) => {
      if (reportErrors) log(`could not stop ${name}: ${String(error)}`);
    });
  }
  rmSync(STACK_FILES.pid, { force: true });
}

async function shutDown(stack: Stack): Promise<void> {
  if (stack.stopping) return;
  stack.stopping = true;
  stack.state.state = 'stopping';
  saveState(stack.state);
  await stopStarted(stack, { reportErrors: true });
  rmSync(STACK_FILES.state, { force: true });
  log('stopped');
  process.exit(0);
}

async function stopAfterFailure(stack: Stack, error: unknown): Promise<void> {
  stack.stopping = true;
  stack.state.state = 'failed';
  stack.state.error = error instanceof Error ? error.message : String(error);
  saveState(stack.state);
  log(`failed: ${stack.state.error}`);
  // Only the failure is logged, not stops that fail after it; the state file stays for `up` to
  // read the error.
  await stopStarted(stack, { reportErrors: false });
  process.exit(1);
}

// --- Phase 0: the Site manifests, checked before anything starts.

function readSites(stack: Stack): Site[] {
  const dir = stack.settings.SITES_DIR;
  const sites = loadSites(dir);
  if (sites.length === 0) throw new Error(`no Site manifests in ${dir}`);
  stack.state.sites = sites.map((s) => s.siteId);
  return sites;
}

// --- Phase 1: Kafka and PostgreSQL, each started here unless the settings name an external one.

interface Infrastructure {
  brokers: string;
  databaseUrl: string;
}

async function startInfrastructure(stack: Stack): Promise<Infrastructure> {
  const brokers = await startKafka(stack);
  stack.state.endpoints.kafka = brokers;
  const databaseUrl = await startPostgres(stack);
  stack.state.endpoints.postgres = databaseUrl.replace(/\/\/[^@]*@/, '//');
  saveState(stack.state);
  return { brokers, databaseUrl };
}

async function startKafka(stack: Stack): Promise<string> {
  const { settings } = stack;
  if (settings.KAFKA_BROKERS) return settings.KAFKA_BROKERS;
  await assertPortFree(settings.KAFKA_PORT, 'KAFKA_PORT');
  await assertPortFree(settings.KAFKA_CONTROLLER_PORT, 'KAFKA_CONTROLLER_PORT');
  const kafka = await startServer(stack, 'kafka', 'Kafka', (serverLog) =>
    startKafkaBroker({
      dir: STACK_FILES.kafka,
      port: settings.KAFKA_PORT,
      controllerPort: settings.KAFKA_CONTROLLER_PORT,
      logFile: serverLog,
    }),
  );
  return kafka.brokers;
}

async function startPostgres(stack: Stack): Promise<string> {
  const { settings } = stack;
  if (settings.DATABASE_URL) return settings.DATABASE_URL;
  await assertPortFree(settings.POSTGRES_PORT, 'POSTGRES_PORT');
  const postgres = await startServer(stack, 'postgres', 'PostgreSQL', (serverLog) =>
    startPostgresServer({
      dataDir: STACK_FILES.postgres,
      port: settings.POSTGRES_PORT,
      logFile: serverLog,
    }),
  );
  return postgres.url;
}

/**
 * Starts a server of the stack's own: it is stopped with the stack, and its pid is in the state
 * file for `make down` to stop it if the supervisor could not.
 */
async function startServer<Server extends { child: Child; stop(): Promise<void> }>(
  stack: Stack,
  name: string,
  title: string,
  start: (serverLog: string) => Promise<Server>,
): Promise<Server> {
  log(`starting ${title}`);
  const server = await start(logFile(name));
  stack.stoppers.push({ name, stop: () => server.stop() });
  stack.state.pids[name] = server.child.pid;
  return server;
}

// --- Phase 2: the schema and the Site registry, before any app reads them.

/** The apps run with the supervisor's environment, pointed at the infrastructure. */
function appEnv(settings: StackSettings, infrastructure: Infrastructure): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KAFKA_BROKERS: infrastructure.brokers,
    DATABASE_URL: infrastructure.databaseUrl,
    LOG_LEVEL: settings.LOG_LEVEL,
    HTTP_HOST: '127.0.0.1',
  };
}

async function migrateAndRegister(
  env: NodeJS.ProcessEnv,
  databaseUrl: string,
  sites: Site[],
): Promise<void> {
  await applyMigrations(env);
  // The registry gets the Site specs, so per-site alert thresholds reach the processor.
  await withRegistry(databaseUrl, (sql) => upsertSites(sql, sites));
}

async function applyMigrations(env: NodeJS.ProcessEnv): Promise<void> {
  log('applying migrations');
  const migrate = startChild({
    name: 'migrate',
    command: process.execPath,
    args: [path.join(REPO_ROOT, 'apps', 'shared', 'src', 'bin', 'migrate.ts')],
    env,
    logFile: logFile('migrate'),
  });
  const migrated = await migrate.exited;
  if (migrated !== 0) throw new Error(`migrations failed (${migrated}); see ${logFile('migrate')}`);
}

/** A one-connection client of the Site registry, closed once `use` is done with it. */
async function withRegistry<T>(databaseUrl: string, use: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = createSql({
    url: databaseUrl,
    poolSize: 1,
    logger: createLogger('stack', 'warn'),
    applicationName: 'stack',
  });
  try {
    return await use(sql);
  } finally {
    await sql.end();
  }
}

// --- Phase 3: the apps, each restarted when it exits on its own, and the watch on the manifests.

async function startApps(
  stack: Stack,
  env: NodeJS.ProcessEnv,
  databaseUrl: string,
  sites: Site[],
): Promise<void> {
  const { settings, state } = stack;
  await assertPortFree(settings.API_PORT, 'API_PORT');
  const supervise = appSupervisor(stack, env);
  // The pod's heap (PROCESSOR_V8_FLAGS), as the processor's bench measures it.
  supervise('processor', [...PROCESSOR_V8_FLAGS, ...appEntry('processor')], {
    HTTP_PORT: String(settings.PROCESSOR_METRICS_PORT),
  });
  supervise('api', appEntry('api'), {
    HTTP_PORT: String(settings.API_PORT),
    API_KEYS: settings.API_KEYS,
  });
  const simulators = simulatorFleet(stack, supervise);
  for (const site of planSimulators(new Map(), sites).start) simulators.start(site);
  simulators.show();
  state.endpoints.api = `http://localhost:${settings.API_PORT}`;
  state.endpoints.processorMetrics = `http://localhost:${settings.PROCESSOR_METRICS_PORT}/metrics`;
  saveState(state);
  watchSiteManifests(stack, simulators, databaseUrl, sites);
}

async function waitForApi(port: number): Promise<void> {
  await waitFor(
    'the API to be ready',
    async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok,
    60_000,
    500,
  );
}

/** Stops an app for good (a simulator whose Site went away) and drops it from the state file. */
type StopForGood = () => Promise<void>;

type Supervise = (name: string, app: string[], extra: Record<string, string>) => StopForGood;

/** Starts apps and keeps them running: each unexpected exit is logged and restarted. */
function appSupervisor(stack: Stack, env: NodeJS.ProcessEnv): Supervise {
  const { apps, state, policy, stoppers } = stack;
  return (name, app, extra) => {
    let child: Child | undefined;
    let timer: NodeJS.Timeout | undefined;
    let failures = 0;
    // Declared before the first launch: a launch that fails at once already reads it.
    let stopped = false;
    const exitedOnItsOwn = (startedAt: number, reason: ExitReason, pid?: number) => {
      if (stack.stopping || stopped) return;
      const exitedAt = Date.now();
      const decision = decideRestart(policy, failures, startedAt, exitedAt);
      failures = decision.failures;
      const status = apps[name];
      if (status) {
        status.status = 'restarting';
        status.lastExit = { ...reason, at: new Date(exitedAt).toISOString() };
        status.restartAt = new Date(decision.restartAt).toISOString();
      }
      saveState(state);
      log(
        `${name}${pid === undefined ? '' : ` (pid ${pid})`} exited with ${describeExit(reason)} ` +
          `after ${seconds(exitedAt - startedAt)}; restarting in ${seconds(decision.delayMs)}; ` +
          `see ${logFile(name)}`,
      );
      timer = setTimeout(() => {
        timer = undefined;
        if (stack.stopping || stopped) return;
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
          env: { NODE_COMPILE_CACHE: NODE_COMPILE_CACHE_DIR, ...env, ...extra },
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
      saveState(state);
      if (restart) log(`${name} restarted (pid ${pid}, restart ${restarts})`);
      void exited.then((how) => {
        exitedOnItsOwn(startedAt, exitReason(how), pid);
      });
    };
    launch(false);
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
}

interface RunningSimulator {
  spec: SimulatorSpec;
  port: number;
  stop: StopForGood;
}

/** The running simulators by Site, each on the first metrics port up from the setting's. */
function simulatorFleet(stack: Stack, supervise: Supervise) {
  const running = new Map<string, RunningSimulator>();
  return {
    start(site: Site): void {
      const used = new Set([...running.values()].map((s) => s.port));
      let port = stack.settings.SIMULATOR_METRICS_PORT;
      while (used.has(port)) port += 1;
      const spec = simulatorEnv(site);
      const stop = supervise(`simulator-${site.siteId}`, appEntry('simulator'), {
        ...spec,
        HTTP_PORT: String(port),
      });
      running.set(site.siteId, { spec, port, stop });
    },
    async stop(siteId: string): Promise<void> {
      await running.get(siteId)?.stop();
      running.delete(siteId);
    },
    specs: () => new Map([...running].map(([id, sim]) => [id, sim.spec])),
    /** Which sites have a simulator and where its metrics are, for `make status`. */
    show(): void {
      stack.state.simulated = [...running.keys()].sort();
      const ports = [...running.values()].map((s) => s.port).sort((a, b) => a - b);
      stack.state.endpoints.simulatorMetrics =
        ports.length === 0
          ? '(no simulator: every site is paused)'
          : `http://localhost:${ports.join(',')}/metrics`;
    },
  };
}

type SimulatorFleet = ReturnType<typeof simulatorFleet>;

/**
 * Edited manifests apply while the stack runs, as the operator applies edited Sites: the
 * registry gets the specs (the processor reloads its alert rules on the notification) and
 * simulators start, restart or stop to match. Edits apply one after another, never overlapping.
 */
function watchSiteManifests(
  stack: Stack,
  simulators: SimulatorFleet,
  databaseUrl: string,
  sites: Site[],
): void {
  const dir = stack.settings.SITES_DIR;
  let current = sites;
  const applySites = async (next: Site[]) => {
    if (stack.stopping) return;
    const changed = await registerEditedSites(databaseUrl, current, next);
    const plan = await matchSimulators(simulators, next);
    current = next;
    stack.state.sites = next.map((site) => site.siteId);
    simulators.show();
    saveState(stack.state);
    const ids = (list: Site[]) => list.map((site) => site.siteId);
    log(
      `sites applied from ${dir}: specs changed ${listed(changed)}; ` +
        `simulators started ${listed(ids(plan.start))}, restarted ${listed(ids(plan.restart))}, ` +
        `stopped ${listed(plan.stop)}`,
    );
  };
  let applying = Promise.resolve();
  const stopWatching = watchSites(
    dir,
    (next) => {
      applying = applying
        .then(() => applySites(next))
        .catch((error: unknown) => {
          log(`could not apply the sites: ${String(error)}`);
        });
    },
    (error) => {
      log(`sites in ${dir} not applied, the running ones stay: ${error.message}`);
    },
  );
  stack.stoppers.push({
    name: 'the watch on the Site manifests',
    stop: async () => {
      stopWatching();
      await applying;
    },
  });
}

const listed = (items: string[]) => items.join(', ') || '-';

/** Registers the specs of `next` and clears those of the sites gone; returns the changed ones. */
async function registerEditedSites(
  databaseUrl: string,
  current: Site[],
  next: Site[],
): Promise<string[]> {
  const nextIds = new Set(next.map((site) => site.siteId));
  const gone = current.filter((site) => !nextIds.has(site.siteId)).map((site) => site.siteId);
  return withRegistry(databaseUrl, async (sql) => [
    ...(await upsertSites(sql, next)),
    ...(await clearSiteSpecs(sql, gone)),
  ]);
}

async function matchSimulators(simulators: SimulatorFleet, next: Site[]): Promise<SimulatorPlan> {
  const plan = planSimulators(simulators.specs(), next);
  for (const id of [...plan.stop, ...plan.restart.map((site) => site.siteId)]) {
    await simulators.stop(id);
  }
  for (const site of [...plan.restart, ...plan.start]) simulators.start(site);
  return plan;
}
