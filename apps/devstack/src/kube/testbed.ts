// A real Kubernetes control plane for tests, started the way controller-runtime's envtest does:
// etcd, kube-apiserver (client-certificate admin, RBAC) and kube-controller-manager (garbage
// collector, deployments, service accounts …). No kubelet or scheduler: Pods stay Pending.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startChild, waitForChild, type Child } from '../child.ts';
import { freePorts } from '../ports.ts';
import { ensureKubeBinaries, type KubeBinaries } from './binaries.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { kubeGet, type ClientCredentials } from './kube-request.ts';
import { ADMIN_USER, createTestbedPki, SERVICE_CLUSTER_IP_RANGE, type TestbedPki } from './pki.ts';

export interface Testbed {
  pki: TestbedPki;
  /** kubeconfig of the admin user (group system:masters), credentials inline. */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** The folder with data, certificates and logs (logs/<component>.log). */
  dir: string;
  binaries: KubeBinaries;
  /** A fresh client configuration for the admin user. */
  kubeConfig(): KubeConfig;
  /** Stops the processes this testbed started; deletes its folder unless it was given one. */
  stop(): Promise<void>;
}

export interface TestbedOptions {
  /** Where data, certificates and logs go; kept after stop(). Default: a temporary folder. */
  dataDir?: string;
  /** The API server's address (bound and advertised). Default 127.0.0.1. */
  address?: string;
  /** The API server's port. Default: a free one. */
  apiPort?: number;
  /** Flags added to kube-apiserver's (a node's kubelet and aggregation settings). */
  apiserverArgs?: (pki: TestbedPki) => string[];
  /** Flags added to kube-controller-manager's. */
  controllerManagerArgs?: string[];
}

const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

function startEtcd(bin: KubeBinaries, dir: string, clientPort: number, peerPort: number): Child {
  const peer = `http://127.0.0.1:${peerPort}`;
  const client = `http://127.0.0.1:${clientPort}`;
  return startChild({
    name: 'etcd',
    command: bin.etcd,
    args: [
      '--name=testbed',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=testbed=${peer}`,
      // Test data is thrown away: skipping fsync makes the control plane much faster.
      '--unsafe-no-fsync',
    ],
    logFile: path.join(dir, 'logs', 'etcd.log'),
  });
}

function startApiserver(
  bin: KubeBinaries,
  dir: string,
  pki: TestbedPki,
  endpoint: { address: string; port: number },
  etcdPort: number,
  extraArgs: string[],
): Child {
  return startChild({
    name: 'kube-apiserver',
    command: bin.kubeApiserver,
    args: [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      `--bind-address=${endpoint.address}`,
      `--advertise-address=${endpoint.address}`,
      `--secure-port=${endpoint.port}`,
      `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.apiserver.certFile}`,
      `--tls-private-key-file=${pki.apiserver.keyFile}`,
      `--client-ca-file=${pki.ca.certFile}`,
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
      `--service-account-signing-key-file=${pki.serviceAccountKeyFile}`,
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      // RBAC, as in a real cluster, so the chart's Roles are what grants access (a node adds
      // the Node authorizer in its extra flags).
      ...(extraArgs.some((a) => a.startsWith('--authorization-mode='))
        ? []
        : ['--authorization-mode=RBAC']),
      // The default admission plugins stay on (ServiceAccount included: the controller-manager
      // creates each namespace's "default" ServiceAccount).
      '--allow-privileged=true',
      '--profiling=false',
      ...extraArgs,
    ],
    logFile: path.join(dir, 'logs', 'kube-apiserver.log'),
  });
}

function startControllerManager(
  bin: KubeBinaries,
  dir: string,
  pki: TestbedPki,
  kubeconfig: string,
  extraArgs: string[],
): Child {
  return startChild({
    name: 'kube-controller-manager',
    command: bin.kubeControllerManager,
    args: [
      `--kubeconfig=${kubeconfig}`,
      '--controllers=*',
      '--leader-elect=false',
      // Each controller acts as its own ServiceAccount with the bootstrap RBAC roles, as kubeadm
      // runs it; the controller-manager's own user only needs to mint their tokens.
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.serviceAccountKeyFile}`,
      `--root-ca-file=${pki.ca.certFile}`,
      `--cluster-signing-cert-file=${pki.ca.certFile}`,
      `--cluster-signing-key-file=${pki.ca.keyFile}`,
      // Its own HTTPS endpoint (health, metrics) is not needed.
      '--secure-port=0',
      ...extraArgs,
    ],
    logFile: path.join(dir, 'logs', 'kube-controller-manager.log'),
  });
}

/**
 * Starts etcd, kube-apiserver and kube-controller-manager on free loopback ports, building the
 * binaries first if this machine has none cached (see ensureKubeBinaries). Resolves when the
 * API server is ready and the controllers run.
 */
export async function startTestbed(options: TestbedOptions = {}): Promise<Testbed> {
  const binaries = await ensureKubeBinaries();
  const ownDir = options.dataDir === undefined;
  const dir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'telemetrypulse-kube-'));
  for (const sub of ['logs', 'pki']) mkdirSync(path.join(dir, sub), { recursive: true });
  const address = options.address ?? '127.0.0.1';
  const pki = createTestbedPki(path.join(dir, 'pki'), { apiserverAltNames: [address] });
  const [etcdPort = 0, peerPort = 0, freeApiPort = 0] = await freePorts(3);
  const apiPort = options.apiPort ?? freeApiPort;
  const server = `https://${address}:${apiPort}`;
  const kubeconfigPath = path.join(dir, 'kubeconfig');
  const controllerManagerKubeconfig = path.join(dir, 'controller-manager.kubeconfig');
  writeKubeconfig(kubeconfigPath, {
    server,
    caPem: pki.ca.certPem,
    user: ADMIN_USER.commonName,
    client: pki.admin,
  });
  writeKubeconfig(controllerManagerKubeconfig, {
    server,
    caPem: pki.ca.certPem,
    user: 'system:kube-controller-manager',
    client: pki.controllerManager,
  });
  const admin: ClientCredentials = { caPem: pki.ca.certPem, ...pki.admin };
  const log = (name: string) => path.join(dir, 'logs', `${name}.log`);

  const children: Child[] = [];
  // Last resort when the process exits without stop() (a crash, process.exit in a test run):
  // no control plane is left running unowned.
  const killOnExit = () => {
    for (const child of children) child.process.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    // Reverse order: controllers, then the API server, then its storage.
    for (const child of children.reverse()) await child.stop(10_000);
    children.length = 0;
    if (ownDir && !process.env.KEEP_TEST_PLATFORM) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const etcd = startEtcd(binaries, dir, etcdPort, peerPort);
    children.push(etcd);
    await waitForChild(
      etcd,
      log('etcd'),
      'etcd /health',
      async () => {
        const res = await fetch(`http://127.0.0.1:${etcdPort}/health`);
        return res.ok && ((await res.json()) as { health?: string }).health === 'true';
      },
      60_000,
    );

    const apiserver = startApiserver(
      binaries,
      dir,
      pki,
      { address, port: apiPort },
      etcdPort,
      options.apiserverArgs?.(pki) ?? [],
    );
    children.push(apiserver);
    await waitForChild(
      apiserver,
      log('kube-apiserver'),
      'kube-apiserver /readyz',
      async () => {
        return (await kubeGet(server, '/readyz', admin)).status === 200;
      },
      180_000,
    );

    const controllerManager = startControllerManager(
      binaries,
      dir,
      pki,
      controllerManagerKubeconfig,
      options.controllerManagerArgs ?? [],
    );
    children.push(controllerManager);
    // The service-account controller makes every namespace's "default" ServiceAccount: once it
    // exists, the controllers run (and Pods may be created under the ServiceAccount admission).
    await waitForChild(
      controllerManager,
      log('kube-controller-manager'),
      'kube-controller-manager to create the default ServiceAccount',
      async () =>
        (await kubeGet(server, '/api/v1/namespaces/default/serviceaccounts/default', admin))
          .status === 200,
      180_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    pki,
    kubeconfigPath,
    server,
    dir,
    binaries,
    kubeConfig() {
      const config = new KubeConfig();
      config.loadFromFile(kubeconfigPath);
      return config;
    },
    stop,
  };
}
