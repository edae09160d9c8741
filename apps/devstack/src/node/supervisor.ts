// The node's supervisor. It runs inside the node's network namespace (and a mount namespace of
// its own, so every mount the runtime makes goes away with it) and starts, in order: the control
// plane (etcd, kube-apiserver with the aggregation layer, kube-controller-manager), Kafka and
// PostgreSQL on the node's address (the pods' external servers), containerd,
// the kubelet, kube-scheduler, kube-proxy, CoreDNS and kube-router (which enforces
// NetworkPolicies). SIGTERM stops them in reverse order.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startChild, type Child } from '../child.ts';
import { startKafkaBroker } from '../kafka-broker.ts';
import { writeKubeconfig } from '../kube/kubeconfig.ts';
import { startTestbed, type Testbed } from '../kube/testbed.ts';
import { waitFor } from '../ports.ts';
import { startPostgresServer } from '../postgres-server.ts';
import type { NodeBinaries } from './binaries.ts';
import {
  cniConfList,
  containerdConfig,
  corefile,
  kubeletConfig,
  kubeProxyConfig,
  kubeRouterArgs,
  nodeResolvConf,
} from './config.ts';
import { NODE_NAME, NODE_NETWORK, NODE_PATHS } from './layout.ts';
import { nodeApiserverArgs, issueNodeCertificates } from './pki.ts';
import { writeNodeStatus } from './status.ts';

export interface SupervisorInput {
  binaries: NodeBinaries;
  /** The sandbox image's name and its OCI archive (imported before the kubelet starts). */
  pauseImage: { name: string; archive: string };
}

const log = (line: string) => {
  console.log(`${new Date().toISOString()} ${line}`);
};

function logFile(name: string): string {
  return path.join(NODE_PATHS.logs, `${name}.log`);
}

/** Whether kube-router's chains hang in the FORWARD hook (its first sync is done). */
function firewallChainsInstalled(): boolean {
  try {
    const rules = execFileSync('iptables', ['-S', 'FORWARD'], { encoding: 'utf8' });
    return rules.includes('-j KUBE-ROUTER-FORWARD');
  } catch {
    return false;
  }
}

async function runningUntil(child: Child, what: string, check: () => Promise<boolean>) {
  let exit: number | string | undefined;
  void child.exited.then((code) => (exit = code));
  await waitFor(
    what,
    async () => {
      if (exit !== undefined)
        throw new Error(`${child.name} exited (${exit}); see ${logFile(child.name)}`);
      return check();
    },
    120_000,
    500,
  );
}

export async function runNodeSupervisor(input: SupervisorInput): Promise<void> {
  const { binaries } = input;
  for (const dir of [
    NODE_PATHS.logs,
    NODE_PATHS.cniConfDir,
    NODE_PATHS.kubeletRoot,
    NODE_PATHS.podLogs,
    NODE_PATHS.containerdState,
  ]) {
    mkdirSync(dir, { recursive: true });
  }
  // Stopped in reverse order of start.
  const stoppers: { name: string; stop: () => Promise<void> }[] = [];
  let testbed: Testbed | undefined;
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    writeNodeStatus({ state: 'stopping' });
    for (const { name, stop } of stoppers.reverse()) {
      log(`stopping ${name}`);
      await stop().catch((error: unknown) => {
        log(`could not stop ${name}: ${String(error)}`);
      });
    }
    if (testbed) {
      log('stopping the control plane');
      await testbed.stop();
    }
    log('stopped');
    process.exit(code);
  };
  process.once('SIGTERM', () => void stopAll(0));
  process.once('SIGINT', () => void stopAll(0));
  writeFileSync(NODE_PATHS.supervisorPid, `${process.pid}\n`);
  writeNodeStatus({ state: 'starting', step: 'control plane' });

  const start = (name: string, command: string, args: string[]): Child => {
    const child = startChild({ name, command, args, logFile: logFile(name) });
    stoppers.push({ name, stop: () => child.stop(20_000) });
    void child.exited.then((code) => {
      if (!stopping) log(`${name} exited (${code}); see ${logFile(name)}`);
    });
    return child;
  };

  try {
    let node: ReturnType<typeof issueNodeCertificates> | undefined;
    log('starting etcd, kube-apiserver and kube-controller-manager');
    testbed = await startTestbed({
      dataDir: NODE_PATHS.controlPlane,
      address: NODE_NETWORK.nodeIp,
      apiPort: NODE_NETWORK.apiPort,
      apiserverArgs: (pki) => {
        node = issueNodeCertificates(pki);
        return nodeApiserverArgs(pki, node);
      },
    });
    if (!node) throw new Error('the node certificates were not issued');
    const { pki } = testbed;
    const server = testbed.server;
    const kubeconfigFor = (name: string, user: string, client: typeof pki.admin) => {
      const file = path.join(NODE_PATHS.pki, `${name}.kubeconfig`);
      writeKubeconfig(file, {
        server,
        caPem: pki.ca.certPem,
        user,
        client,
        contextName: NODE_NAME,
      });
      return file;
    };
    mkdirSync(NODE_PATHS.pki, { recursive: true });
    writeKubeconfig(NODE_PATHS.kubeconfig, {
      server,
      caPem: pki.ca.certPem,
      user: 'admin',
      client: pki.admin,
      contextName: NODE_NAME,
    });
    const kubeletKubeconfig = kubeconfigFor(
      'kubelet',
      `system:node:${NODE_NAME}`,
      node.kubeletClient,
    );
    const schedulerKubeconfig = kubeconfigFor('scheduler', 'system:kube-scheduler', node.scheduler);
    const proxyKubeconfig = kubeconfigFor('kube-proxy', 'system:kube-proxy', node.kubeProxy);

    // What the chart's apps use here as external servers (k8s/node/values.yaml): Redpanda's
    // and PostgreSQL's images cannot be pulled on these machines.
    writeNodeStatus({ state: 'starting', step: 'Kafka and PostgreSQL' });
    log('starting Kafka and PostgreSQL on the node address');
    const [kafka, postgres] = await Promise.all([
      startKafkaBroker({
        dir: NODE_PATHS.kafka,
        host: NODE_NETWORK.nodeIp,
        port: NODE_NETWORK.kafkaPort,
        controllerPort: NODE_NETWORK.kafkaPort + 1,
        logFile: logFile('kafka'),
      }),
      startPostgresServer({
        dataDir: NODE_PATHS.postgres,
        host: NODE_NETWORK.nodeIp,
        port: NODE_NETWORK.postgresPort,
        logFile: logFile('postgres'),
        // Pods, the node itself and the machine (tests, psql) through the veth pair.
        allowFrom: [NODE_NETWORK.podCidr, `${NODE_NETWORK.nodeIp}/32`, `${NODE_NETWORK.hostIp}/32`],
      }),
    ]);
    stoppers.push({ name: 'kafka', stop: () => kafka.stop() });
    stoppers.push({ name: 'postgres', stop: () => postgres.stop() });

    writeNodeStatus({ state: 'starting', step: 'containerd' });
    writeFileSync(
      NODE_PATHS.containerdConfig,
      containerdConfig({
        sandboxImage: input.pauseImage.name,
        runc: binaries.runc,
        cniBinDir: binaries.cniBinDir,
      }),
    );
    writeFileSync(path.join(NODE_PATHS.cniConfDir, '10-telemetrypulse.conflist'), cniConfList());
    log('starting containerd');
    const containerd = start('containerd', binaries.containerd, [
      '--config',
      NODE_PATHS.containerdConfig,
    ]);
    await runningUntil(containerd, 'containerd to listen', () =>
      Promise.resolve(existsSync(NODE_PATHS.containerdSocket)),
    );
    execFileSync(
      binaries.ctr,
      [
        '--address',
        NODE_PATHS.containerdSocket,
        '-n',
        'k8s.io',
        'images',
        'import',
        input.pauseImage.archive,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );

    writeNodeStatus({ state: 'starting', step: 'kubelet' });
    writeFileSync(
      NODE_PATHS.kubeletConfig,
      kubeletConfig({
        caFile: pki.ca.certFile,
        tlsCertFile: node.kubeletServing.certFile,
        tlsKeyFile: node.kubeletServing.keyFile,
      }),
    );
    writeFileSync(NODE_PATHS.resolvConf, nodeResolvConf());
    log('starting the kubelet');
    const kubelet = start('kubelet', binaries.kubelet, [
      `--config=${NODE_PATHS.kubeletConfig}`,
      `--kubeconfig=${kubeletKubeconfig}`,
      `--root-dir=${NODE_PATHS.kubeletRoot}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${NODE_NETWORK.nodeIp}`,
      '--v=1',
    ]);

    log('starting kube-scheduler, kube-proxy and CoreDNS');
    start('kube-scheduler', binaries.kubeScheduler, [
      `--kubeconfig=${schedulerKubeconfig}`,
      `--authentication-kubeconfig=${schedulerKubeconfig}`,
      `--authorization-kubeconfig=${schedulerKubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
    ]);
    writeFileSync(NODE_PATHS.kubeProxyConfig, kubeProxyConfig(proxyKubeconfig));
    start('kube-proxy', binaries.kubeProxy, [`--config=${NODE_PATHS.kubeProxyConfig}`]);
    writeFileSync(NODE_PATHS.corefile, corefile(NODE_PATHS.kubeconfig));
    start('coredns', binaries.coredns, ['-conf', NODE_PATHS.corefile]);

    writeNodeStatus({ state: 'starting', step: 'node Ready' });
    const kubeConfig = testbed.kubeConfig();
    const { CoreV1Api } = await import('@kubernetes/client-node');
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await runningUntil(kubelet, `node ${NODE_NAME} to be Ready`, async () => {
      const found = await core.readNode({ name: NODE_NAME });
      return (
        found.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false
      );
    });
    // After the Node exists (kube-router finds its node by name, or exits), before any pod runs.
    // The admin kubeconfig: the agent reads pods, namespaces and policies of every namespace.
    writeNodeStatus({ state: 'starting', step: 'NetworkPolicy agent' });
    log('starting kube-router (NetworkPolicies)');
    const agent = start('kube-router', binaries.kubeRouter, kubeRouterArgs(NODE_PATHS.kubeconfig));
    await runningUntil(agent, 'kube-router to install its firewall chains', () =>
      Promise.resolve(firewallChainsInstalled()),
    );
    writeNodeStatus({
      state: 'ready',
      server,
      kubeconfig: NODE_PATHS.kubeconfig,
      kafkaBrokers: kafka.brokers,
      databaseUrl: postgres.url,
    });
    log(`node ${NODE_NAME} is Ready; kubeconfig ${NODE_PATHS.kubeconfig}`);
  } catch (error) {
    log(`the node did not start: ${(error as Error).message}`);
    writeNodeStatus({ state: 'failed', error: (error as Error).message });
    await stopAll(1);
  }
}
