// What the journey test drives the real node with: kubectl and helm as a user runs them (the
// kubeconfig `make cluster` printed), a port-forward, and the failure report (pods, events, logs).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import type { Sql } from 'postgres';
import { syntheticEvents } from '../../src/test/index.ts';
import { ensureNodeBinaries } from '../../src/node/binaries.ts';
import { NODE_PATHS } from '../../src/node/layout.ts';
import { readNodeStatus } from '../../src/node/status.ts';
import { REPO_ROOT } from '../../src/paths.ts';
import { ensureHelm } from '../../src/tools/helm.ts';

const run = promisify(execFile);

export interface NodeTools {
  kubectl(args: string[], options?: { timeoutMs?: number; input?: string }): Promise<string>;
  helm(args: string[], options?: { timeoutMs?: number }): Promise<string>;
  kubectlPath: string;
  env: NodeJS.ProcessEnv;
}

export async function nodeTools(): Promise<NodeTools> {
  const status = readNodeStatus();
  if (status?.state !== 'ready') {
    throw new Error('no node is Ready: run `make cluster` and `make images` first (make e2e does)');
  }
  const { kubectl: kubectlPath } = await ensureNodeBinaries();
  const helmPath = await ensureHelm();
  const env = { ...process.env, KUBECONFIG: NODE_PATHS.kubeconfig };
  const call = async (command: string, args: string[], timeoutMs = 120_000, input?: string) => {
    try {
      const pending = run(command, args, {
        env,
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
      });
      if (input !== undefined) pending.child.stdin?.end(input);
      const { stdout } = await pending;
      return stdout;
    } catch (error) {
      const e = error as Error & { stderr?: string; stdout?: string };
      throw new Error(
        `${command.split('/').pop() ?? command} ${args.join(' ')} failed: ${e.stderr ?? ''}${e.stdout ?? ''}${e.message}`,
        { cause: error },
      );
    }
  };
  return {
    kubectl: (args, options) => call(kubectlPath, args, options?.timeoutMs, options?.input),
    helm: (args, options) => call(helmPath, args, options?.timeoutMs),
    kubectlPath,
    env,
  };
}

/** The chart, and the values a user installs it with on this node (k8s/README.md). */
export const CHART = path.join(REPO_ROOT, 'charts', 'telemetrypulse');
export const NODE_VALUES = path.join(REPO_ROOT, 'k8s', 'node', 'values.yaml');

/**
 * `helm install <release> charts/telemetrypulse -n <namespace> --create-namespace -f
 * k8s/node/values.yaml <args> --wait`, as k8s/README.md tells a user; `args` add values files or
 * `--set`s after the node's values, so they win.
 */
export async function installChart(
  tools: NodeTools,
  release: string,
  namespace: string,
  args: string[] = [],
): Promise<void> {
  await tools.helm(
    [
      'install',
      release,
      CHART,
      '-n',
      namespace,
      '--create-namespace',
      '-f',
      NODE_VALUES,
      ...args,
      '--wait',
      '--timeout',
      '10m',
    ],
    { timeoutMs: 11 * 60_000 },
  );
}

/** Uninstalls the release (and deletes its namespace when asked); errors are not a test's. */
export async function uninstallChart(
  tools: NodeTools,
  release: string,
  namespace: string,
  options: { deleteNamespace?: boolean } = {},
): Promise<void> {
  await tools
    .helm(['uninstall', release, '-n', namespace, '--wait', '--timeout', '3m'])
    .catch(() => undefined);
  if (options.deleteNamespace) {
    await tools
      .kubectl(['delete', 'namespace', namespace, '--wait', '--timeout=3m'], {
        timeoutMs: 4 * 60_000,
      })
      .catch(() => undefined);
  }
}

export interface PortForward {
  url: string;
  process: ChildProcess;
  stop(): void;
}

/** `kubectl port-forward` to a Service on a free local port, as a user reaches the API. */
export async function portForward(
  tools: NodeTools,
  namespace: string,
  target: string,
  remotePort: number,
): Promise<PortForward> {
  const child = spawn(
    tools.kubectlPath,
    ['-n', namespace, 'port-forward', '--address', '127.0.0.1', target, `:${remotePort}`],
    { env: tools.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`port-forward did not start: ${output}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`port-forward exited (${code}): ${output}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    process: child,
    stop: () => child.kill('SIGTERM'),
  };
}

/** What a person looks at when a deploy fails: pods, events, and the logs of unready pods. */
export async function failureReport(tools: NodeTools, namespace: string): Promise<string> {
  const parts: string[] = [];
  const section = async (title: string, args: string[]) => {
    const text = await tools.kubectl(args).catch((error: unknown) => (error as Error).message);
    parts.push(`--- ${title}\n${text}`);
  };
  await section('pods', ['-n', namespace, 'get', 'pods', '-o', 'wide']);
  await section('events', ['-n', namespace, 'get', 'events', '--sort-by=.lastTimestamp']);
  const pods = JSON.parse(await tools.kubectl(['-n', namespace, 'get', 'pods', '-o', 'json'])) as {
    items: {
      metadata: { name: string };
      status?: { conditions?: { type: string; status: string }[]; phase?: string };
    }[];
  };
  for (const pod of pods.items) {
    const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (ready || pod.status?.phase === 'Succeeded') continue;
    const name = pod.metadata.name;
    await section(`logs of ${name}`, [
      '-n',
      namespace,
      'logs',
      name,
      '--all-containers',
      '--tail=60',
    ]);
    await section(`previous logs of ${name}`, [
      '-n',
      namespace,
      'logs',
      name,
      '--all-containers',
      '--previous',
      '--tail=40',
    ]);
  }
  return parts.join('\n');
}

export interface KnownEvents {
  ids: string[];
  /** Resolves when every batch was sent. */
  done: Promise<void>;
}

/**
 * Publishes `batches` batches of known events straight to the events topic on the node's Kafka,
 * one every `intervalMs`, so a test can check later that every one of them was stored once.
 */
export function publishKnownEvents(
  brokers: string,
  topic: string,
  siteId: string,
  batches: number,
  perBatch: number,
  intervalMs: number,
): KnownEvents {
  const ids: string[] = [];
  const done = (async () => {
    const producer = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    try {
      for (let batch = 0; batch < batches; batch += 1) {
        const events = syntheticEvents(perBatch, siteId, 10 * 60_000);
        ids.push(...events.map((e) => e.event_id));
        await producer.send({
          topic,
          messages: events.map((e) => ({ key: e.device_id, value: JSON.stringify(e) })),
        });
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    } finally {
      await producer.disconnect();
    }
  })();
  return { ids, done };
}

/** How often each of `ids` is stored in the raw table (a missing id counts 0). */
export async function storedCounts(sql: Sql, ids: string[]): Promise<Map<string, number>> {
  const rows = await sql<{ event_id: string; n: number }[]>`
    select event_id::text, count(*)::int as n from telemetry_events
    where event_id = any(${ids}::uuid[]) group by event_id`;
  const counts = new Map(ids.map((id) => [id, 0]));
  for (const row of rows) counts.set(row.event_id, row.n);
  return counts;
}

/** The API image the chart runs on the node: it has Node.js, which the probes below use. */
export const PROBE_IMAGE = 'localhost/telemetrypulse/api:0.1.0';

/**
 * A pod that only waits, with the given labels, so NetworkPolicies treat it as whatever those
 * labels say (a simulator, the chart's test pod, a stranger). Locked down like the chart's pods.
 */
export async function startProbePod(
  tools: NodeTools,
  namespace: string,
  name: string,
  labels: Record<string, string>,
): Promise<void> {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: {
      automountServiceAccountToken: false,
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'probe',
          image: PROBE_IMAGE,
          imagePullPolicy: 'Never',
          command: ['node', '-e', 'setInterval(() => {}, 1 << 30)'],
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
          resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
        },
      ],
    },
  };
  await tools.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) });
  await tools.kubectl(
    ['-n', namespace, 'wait', '--for=condition=Ready', `pod/${name}`, '--timeout=120s'],
    {
      timeoutMs: 150_000,
    },
  );
}

/** A pod's address. */
export async function podIp(tools: NodeTools, namespace: string, pod: string): Promise<string> {
  const ip = await tools.kubectl([
    '-n',
    namespace,
    'get',
    'pod',
    pod,
    '-o',
    'jsonpath={.status.podIP}',
  ]);
  if (!ip.trim()) throw new Error(`pod ${pod} has no address`);
  return ip.trim();
}

export type Target = readonly [host: string, port: number];

/**
 * Opens a TCP connection from inside the pod to each target: 'connected', or why not (a
 * timeout, as a dropped SYN gives, or the error code). The connect timeout only bounds the wait:
 * the tests compare the outcome with an allowed path's from the same pod.
 */
export async function tryConnections(
  tools: NodeTools,
  namespace: string,
  pod: string,
  targets: readonly Target[],
  container?: string,
): Promise<string[]> {
  const script = `
    const net = require('node:net');
    const targets = ${JSON.stringify(targets)};
    Promise.all(targets.map(([host, port]) => new Promise((resolve) => {
      const socket = net.connect({ host, port, timeout: 5000 });
      socket.once('connect', () => { socket.destroy(); resolve('connected'); });
      socket.once('timeout', () => { socket.destroy(); resolve('timeout'); });
      socket.once('error', (error) => resolve(error.code ?? error.message));
    }))).then((results) => console.log(JSON.stringify(results)));`;
  const out = await tools.kubectl([
    '-n',
    namespace,
    'exec',
    pod,
    ...(container ? ['-c', container] : []),
    '--',
    'node',
    '-e',
    script,
  ]);
  return JSON.parse(out.trim()) as string[];
}

export interface LoadResult {
  sent: number;
  ok: number;
  /** Every answer other than 200, and every request that got none, with when it was sent. */
  failures: { atMs: number; status?: number; error?: string }[];
  durationMs: number;
}

export interface RunningLoad {
  /** Stops sending, waits for the answers still due, and returns what the client saw. */
  stop(): Promise<LoadResult>;
}

/**
 * A client inside `pod` sending GET `url` at `ratePerSecond` on a fixed schedule (a slow answer
 * does not delay the next request), with Node's fetch and its kept-alive connections, as a
 * dashboard backend would. Resolves once the first request was answered.
 */
export async function startLoad(
  tools: NodeTools,
  namespace: string,
  pod: string,
  url: string,
  ratePerSecond: number,
): Promise<RunningLoad> {
  const script = `
    const url = ${JSON.stringify(url)};
    const started = Date.now();
    const result = { sent: 0, ok: 0, failures: [] };
    let stopping = false;
    let announced = false;
    process.stdin.on('end', () => { stopping = true; });
    process.stdin.resume();
    const one = async (atMs) => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(10000) });
        await res.arrayBuffer();
        if (res.status === 200) result.ok += 1;
        else result.failures.push({ atMs, status: res.status });
      } catch (error) {
        result.failures.push({ atMs, error: String(error.cause?.code ?? error.cause ?? error) });
      }
      if (!announced) console.log('started');
      announced = true;
    };
    const pending = [];
    for (let i = 0; !stopping; i += 1) {
      const due = started + (i * 1000) / ${ratePerSecond};
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
      result.sent += 1;
      pending.push(one(Date.now() - started));
    }
    await Promise.all(pending);
    console.log(JSON.stringify({ ...result, durationMs: Date.now() - started }));`;
  const child = spawn(
    tools.kubectlPath,
    ['-n', namespace, 'exec', '-i', pod, '--', 'node', '--input-type=module', '-e', script],
    { env: tools.env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (output.startsWith('started\n')) {
        clearInterval(check);
        resolve();
      } else if (child.exitCode !== null || output.includes('\n')) {
        clearInterval(check);
        reject(new Error(`the load client did not start: ${output}`));
      }
    }, 100);
  });
  return {
    stop: async () => {
      child.stdin.end();
      const code = await exited;
      const last = output.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        throw new Error(`the load client failed (${code}): ${output}`);
      }
      return JSON.parse(last) as LoadResult;
    },
  };
}
