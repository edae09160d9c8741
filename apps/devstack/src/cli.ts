#!/usr/bin/env node
// The local platform: `up` (detached), `down`, `logs`, `status`, `run` (foreground), `install`;
// `testbed` (a Kubernetes control plane in the foreground) and `tools` (helm, actionlint, CRDs).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, runningPid } from './child.ts';
import { installKafka } from './kafka-broker.ts';
import { startTestbed } from './kube/testbed.ts';
import { buildImages, importImages } from './images/build.ts';
import { installKeda } from './keda/install.ts';
import { installMetricsServer } from './metrics-server/install.ts';
import { installPrometheusOperator } from './prometheus-operator/install.ts';
import { runClusterSupervisor, startCluster, stopCluster } from './node/cluster.ts';
import { NODE_PATHS } from './node/layout.ts';
import { readNodeStatus } from './node/status.ts';
import { LOCAL_DIR } from './paths.ts';
import { StopWaiting, waitFor } from './ports.ts';
import { removeDataDir } from './postgres-reach.ts';
import {
  readStackSettings,
  STACK_FILES,
  type StackSettings,
  type StackState,
} from './stack/settings.ts';
import { showLogs } from './stack/logs.ts';
import { formatStatus } from './stack/status.ts';
import { runStack } from './stack/supervisor.ts';
import { ensureAllTools } from './tools/ensure-all.ts';
import { ensureHelm } from './tools/helm.ts';

function readState(): StackState | undefined {
  if (!existsSync(STACK_FILES.state)) return undefined;
  try {
    return JSON.parse(readFileSync(STACK_FILES.state, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

function supervisorPid(): number | undefined {
  return runningPid(STACK_FILES.pid);
}

function printEndpoints(state: StackState, settings: StackSettings): void {
  console.log('TelemetryPulse is up:');
  console.log(
    `  API             ${state.endpoints.api ?? '-'}   (try: curl ${state.endpoints.api ?? ''}/kpis/live)`,
  );
  console.log(
    `  API key         ${settings.API_KEYS}   (for writes: -H 'Authorization: Bearer ${settings.API_KEYS}')`,
  );
  console.log(`  Kafka           ${state.endpoints.kafka ?? '-'}`);
  console.log(`  PostgreSQL      ${state.endpoints.postgres ?? '-'}`);
  console.log(`  metrics         ${state.endpoints.processorMetrics ?? '-'} (processor)`);
  console.log(`                  ${state.endpoints.simulatorMetrics ?? '-'} (simulators)`);
  console.log(`  sites           ${state.sites.join(', ')}`);
  console.log(`  logs            make logs   (files in ${STACK_FILES.logs})`);
  console.log('  stop            make down');
}

async function sitesLive(settings: StackSettings, sites: string[]): Promise<string[]> {
  const response = await fetch(`http://127.0.0.1:${settings.API_PORT}/kpis/live`);
  if (!response.ok) return [];
  const rows = (await response.json()) as { site_id: string }[];
  const seen = new Set(rows.map((r) => r.site_id));
  return sites.filter((s) => seen.has(s));
}

async function up(settings: StackSettings): Promise<void> {
  const running = supervisorPid();
  const current = readState();
  if (running && current?.state === 'ready') {
    printEndpoints(current, settings);
    return;
  }
  if (running)
    throw new Error(`the stack is ${current?.state ?? 'running'} (pid ${running}); try make down`);
  mkdirSync(STACK_FILES.logs, { recursive: true });
  rmSync(STACK_FILES.state, { force: true });
  // Downloads happen here, in the foreground, so their progress and errors are visible.
  if (!settings.KAFKA_BROKERS) installKafka();

  const started = Date.now();
  const out = openSync(path.join(STACK_FILES.logs, 'stack.log'), 'a');
  const supervisor = spawn(process.execPath, [fileURLToPath(import.meta.url), 'run'], {
    detached: true,
    stdio: ['ignore', out, out],
    env: process.env,
  });
  supervisor.unref();
  console.log(`starting the local platform (supervisor pid ${supervisor.pid ?? '?'}) …`);

  await waitFor(
    'the platform to start',
    () => {
      const state = readState();
      if (state?.state === 'failed') throw new StopWaiting(state.error ?? 'start failed');
      if (supervisor.pid !== undefined && !alive(supervisor.pid)) {
        throw new StopWaiting(
          `the supervisor exited; see ${path.join(STACK_FILES.logs, 'stack.log')}`,
        );
      }
      return Promise.resolve(state?.state === 'ready');
    },
    240_000,
    500,
  ).catch((error: unknown) => {
    const failed = readState();
    throw new Error(failed?.error ?? (error as Error).message, { cause: error });
  });
  const state = readState();
  if (!state) throw new Error('the stack state disappeared');
  // Live KPIs need the first events to reach the database; the simulators start at once.
  process.stdout.write('waiting for every simulated site to show in /kpis/live …');
  await waitFor(
    'every simulated site in /kpis/live',
    async () => (await sitesLive(settings, state.simulated)).length === state.simulated.length,
    90_000,
    1000,
  );
  console.log(` done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  printEndpoints(state, settings);
}

async function down(): Promise<void> {
  const state = readState();
  const pid = supervisorPid();
  if (pid) {
    process.kill(pid, 'SIGTERM');
    await waitFor('the stack to stop', () => Promise.resolve(!alive(pid)), 90_000, 250).catch(
      () => {
        process.kill(pid, 'SIGKILL');
      },
    );
  }
  // Whatever the supervisor could not stop (e.g. it was killed) is stopped by its PID.
  const leftovers = Object.entries(state?.pids ?? {}).filter(([, p]) => alive(p));
  for (const [name, p] of leftovers) {
    console.log(`stopping leftover ${name} (pid ${p})`);
    process.kill(p, 'SIGTERM');
  }
  for (const [, p] of leftovers) {
    await waitFor('leftovers to stop', () => Promise.resolve(!alive(p)), 30_000, 250).catch(() => {
      process.kill(p, 'SIGKILL');
    });
  }
  rmSync(STACK_FILES.pid, { force: true });
  rmSync(STACK_FILES.state, { force: true });
  console.log(pid || leftovers.length > 0 ? 'stopped; data kept in .local/' : 'not running');
}

/** Every log file's last lines, each prefixed with its process (`[processor] …`); then follows. */
function logs(follow: boolean): void {
  if (!existsSync(STACK_FILES.logs)) {
    console.log('no logs yet: run make up');
    return;
  }
  showLogs(STACK_FILES.logs, { lines: follow ? 10 : 50, follow });
}

function status(): void {
  const state = readState();
  const pid = supervisorPid();
  if (!pid || !state) {
    console.log('not running');
    return;
  }
  for (const line of formatStatus(state, pid, alive, Date.now())) console.log(line);
}

/** Runs the Kubernetes testbed until Ctrl-C or SIGTERM, then stops it cleanly. */
async function testbed(): Promise<void> {
  const started = Date.now();
  const tb = await startTestbed();
  console.log(`Kubernetes testbed is up in ${((Date.now() - started) / 1000).toFixed(1)} s:`);
  console.log(`  API server   ${tb.server}  (Kubernetes ${tb.binaries.kubernetesVersion})`);
  console.log(`  kubeconfig   ${tb.kubeconfigPath}`);
  console.log(`  logs         ${path.join(tb.dir, 'logs')}`);
  console.log(`\n  export KUBECONFIG=${tb.kubeconfigPath}\n`);
  console.log('Ctrl-C stops it and deletes its data.');
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log(`${signal}: stopping the testbed …`);
  await tb.stop();
  console.log('stopped');
}

async function tools(): Promise<void> {
  for (const [name, where] of Object.entries(await ensureAllTools())) {
    console.log(`${name.padEnd(48)} ${where}`);
  }
}

async function cluster(): Promise<void> {
  const started = Date.now();
  const info = await startCluster();
  const status = readNodeStatus();
  console.log(`node is Ready in ${((Date.now() - started) / 1000).toFixed(1)} s:`);
  console.log(`  kubeconfig   export KUBECONFIG=${info.kubeconfig}`);
  console.log(`  kubectl      ${info.binaries.kubectl}  (helm: ${await ensureHelm()})`);
  console.log(`  API server   ${info.server}`);
  console.log(`  Kafka        ${status?.kafkaBrokers ?? '-'}  (for the pods, on the node address)`);
  console.log(`  PostgreSQL   ${status?.databaseUrl ?? '-'}`);
  console.log('  next         make images; then, with KUBECONFIG set:');
  console.log('               helm install telemetrypulse charts/telemetrypulse -n telemetrypulse');
  console.log('                 --create-namespace -f k8s/node/values.yaml --wait');
  console.log(`  logs         ${NODE_PATHS.logs}    stop: make cluster-down`);
}

/** Builds the app images from the Dockerfile and loads them into the running node, if any. */
async function images(): Promise<void> {
  const built = await buildImages();
  const archives = Object.values<{ archive: string }>(built.apps).map((image) => image.archive);
  if (readNodeStatus()?.state !== 'ready') {
    console.log('no node is running (make cluster): the images are built, not loaded');
    return;
  }
  const names = await importImages(archives, { containerdAddress: NODE_PATHS.containerdSocket });
  console.log(`loaded into the node: ${names.join(', ')}`);
}

const command = process.argv[2] ?? 'help';
const settings = readStackSettings();
const commands: Record<string, () => Promise<void> | void> = {
  up: () => up(settings),
  run: () => runStack(settings),
  down,
  logs: () => {
    logs(!process.argv.includes('--no-follow'));
  },
  status,
  install: () => {
    console.log(`Kafka jars in ${installKafka()}`);
  },
  testbed,
  tools,
  cluster,
  images,
  keda: () => installKeda(),
  'metrics-server': () => installMetricsServer(),
  'prometheus-operator': async () => {
    await installPrometheusOperator();
  },
  'cluster-run': runClusterSupervisor,
  'cluster-down': () => stopCluster(),
  reset: async () => {
    await down();
    removeDataDir(STACK_FILES.postgres);
    rmSync(LOCAL_DIR, { recursive: true, force: true });
    console.log('local data removed');
  },
};
const run = commands[command];
if (!run) {
  console.log(`usage: stack ${Object.keys(commands).join('|')}`);
  process.exit(command === 'help' ? 0 : 2);
}
Promise.resolve(run()).catch((error: unknown) => {
  console.error(`stack ${command}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
