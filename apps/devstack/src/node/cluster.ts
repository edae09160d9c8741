// `make cluster` and `make cluster-down`: a single-node Kubernetes with a real kubelet and
// containers, in a network namespace of its own. The start cleans up what an earlier run left
// (a killed session never ran its stop), then starts the supervisor detached and waits for the
// node to be Ready.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureKubeBinaries } from '../kube/binaries.ts';
import { StopWaiting, waitFor } from '../ports.ts';
import { ensurePauseImage } from '../images/pause.ts';
import { ensureNodeBinaries, ensureNodeRuntime, type NodeBinaries } from './binaries.ts';
import { cleanupNode, supervisorPid } from './cleanup.ts';
import { NODE_NAME, NODE_NETWORK, NODE_PATHS } from './layout.ts';
import { createNodeNetwork } from './network.ts';
import { readNodeStatus } from './status.ts';
import type { SupervisorInput } from './supervisor.ts';

const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));
const SUPERVISOR_INPUT_ENV = 'TELEMETRYPULSE_NODE_INPUT';

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${what} needs root: it makes a network namespace, runs containerd and a kubelet ` +
        '(try: sudo make cluster)',
    );
  }
}

export interface ClusterInfo {
  kubeconfig: string;
  server: string;
  nodeIp: string;
  binaries: NodeBinaries;
}

/** Everything the node needs, built or installed first (visible progress, cached). */
export async function prepareNode(): Promise<SupervisorInput> {
  await ensureNodeRuntime();
  await ensureKubeBinaries();
  const binaries = await ensureNodeBinaries();
  const { name, archive } = await ensurePauseImage();
  const pauseImage = { name, archive };
  return { binaries, pauseImage };
}

export async function startCluster(
  log: (line: string) => void = console.log,
): Promise<ClusterInfo> {
  requireRoot('make cluster');
  const input = await prepareNode();
  await cleanupNode(log);
  createNodeNetwork();
  mkdirSync(NODE_PATHS.run, { recursive: true });
  mkdirSync(NODE_PATHS.logs, { recursive: true });
  const supervisorLog = path.join(NODE_PATHS.logs, 'supervisor.log');
  const out = openSync(supervisorLog, 'a');
  // nsenter joins only the network namespace (ip netns exec would remount /sys and hide the
  // cgroup hierarchies); unshare gives the node a mount namespace of its own, so the runtime's
  // mounts vanish with its processes.
  const supervisor = spawn(
    'nsenter',
    [
      `--net=/run/netns/${NODE_NETWORK.netns}`,
      '--',
      'unshare',
      '--mount',
      '--propagation',
      'slave',
      '--',
      process.execPath,
      CLI,
      'cluster-run',
    ],
    {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, [SUPERVISOR_INPUT_ENV]: JSON.stringify(input) },
    },
  );
  supervisor.unref();
  log(`starting node ${NODE_NAME} (supervisor log: ${supervisorLog}) …`);
  let lastStep = '';
  await waitFor(
    `node ${NODE_NAME} to be Ready`,
    () => {
      const status = readNodeStatus();
      if (status?.state === 'failed') {
        throw new StopWaiting(`${status.error ?? 'the node failed'}; see ${supervisorLog}`);
      }
      if (supervisor.exitCode !== null) {
        throw new StopWaiting(`the node's supervisor exited; see ${supervisorLog}`);
      }
      if (status?.step && status.step !== lastStep) {
        lastStep = status.step;
        log(`  ${lastStep} …`);
      }
      return Promise.resolve(status?.state === 'ready');
    },
    300_000,
    300,
  );
  return {
    kubeconfig: NODE_PATHS.kubeconfig,
    server: `https://${NODE_NETWORK.nodeIp}:${NODE_NETWORK.apiPort}`,
    nodeIp: NODE_NETWORK.nodeIp,
    binaries: input.binaries,
  };
}

/** The supervisor's side (`cli.ts cluster-run`), inside the node's namespaces. */
export async function runClusterSupervisor(): Promise<void> {
  const raw = process.env[SUPERVISOR_INPUT_ENV];
  if (!raw) throw new Error('cluster-run is started by `make cluster`');
  const { runNodeSupervisor } = await import('./supervisor.ts');
  await runNodeSupervisor(JSON.parse(raw) as SupervisorInput);
}

export async function stopCluster(log: (line: string) => void = console.log): Promise<void> {
  requireRoot('make cluster-down');
  const running = supervisorPid() !== undefined;
  await cleanupNode(log);
  log(running ? `node ${NODE_NAME} stopped; nothing of it is left` : 'no node was running');
}
