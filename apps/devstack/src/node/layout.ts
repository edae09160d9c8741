// Where the real node lives: its network namespace and addresses, its folders. One node per
// machine (the namespace and interface names are machine-wide), so every path is fixed and an
// earlier run's leftovers are found again by name.
import path from 'node:path';
import { SERVICE_CLUSTER_IP_RANGE } from '../kube/pki.ts';

export const NODE_NAME = 'telemetrypulse-node';

/**
 * The node's network: a namespace of its own (as kind puts its node in a container) joined to
 * the machine by a veth pair. Everything the pods reach listens on NODE_IP inside it; the
 * machine reaches NODE_IP through the pair and nothing else of the machine is used.
 */
export const NODE_NETWORK = {
  netns: NODE_NAME,
  hostVeth: 'tpnode-host',
  nodeVeth: 'eth0',
  hostIp: '10.213.0.1',
  nodeIp: '10.213.0.2',
  prefixLength: 30,
  bridge: 'tpnode0',
  /** Pod addresses on this node (the CNI bridge's range). */
  podCidr: '10.244.0.0/24',
  /** All pod addresses of the cluster, for kube-proxy's masquerade decisions. */
  clusterCidr: '10.244.0.0/16',
  serviceCidr: SERVICE_CLUSTER_IP_RANGE,
  apiPort: 6443,
  kafkaPort: 9092,
  postgresPort: 5432,
  kubeletPort: 10250,
} as const;

const STATE_DIR = process.env.TELEMETRYPULSE_NODE_DIR ?? '/var/lib/telemetrypulse-node';
const RUN_DIR = process.env.TELEMETRYPULSE_NODE_RUN_DIR ?? '/run/telemetrypulse-node';

export const NODE_PATHS = {
  state: STATE_DIR,
  run: RUN_DIR,
  logs: path.join(STATE_DIR, 'logs'),
  pki: path.join(STATE_DIR, 'pki'),
  controlPlane: path.join(STATE_DIR, 'control-plane'),
  kafka: path.join(STATE_DIR, 'kafka'),
  postgres: path.join(STATE_DIR, 'postgres'),
  containerdRoot: path.join(STATE_DIR, 'containerd'),
  containerdState: path.join(RUN_DIR, 'containerd'),
  containerdSocket: path.join(RUN_DIR, 'containerd.sock'),
  containerdConfig: path.join(STATE_DIR, 'containerd.toml'),
  cniConfDir: path.join(STATE_DIR, 'cni'),
  cniDataDir: path.join(STATE_DIR, 'cni-ipam'),
  kubeletRoot: path.join(STATE_DIR, 'kubelet'),
  kubeletConfig: path.join(STATE_DIR, 'kubelet.yaml'),
  podLogs: path.join(STATE_DIR, 'pod-logs'),
  kubeProxyConfig: path.join(STATE_DIR, 'kube-proxy.yaml'),
  corefile: path.join(STATE_DIR, 'Corefile'),
  resolvConf: path.join(STATE_DIR, 'resolv.conf'),
  /** The admin kubeconfig that `make cluster` prints (server https://NODE_IP:6443). */
  kubeconfig: path.join(STATE_DIR, 'kubeconfig'),
  /** The supervisor's pid and its progress (starting / ready / failed). */
  supervisorPid: path.join(RUN_DIR, 'supervisor.pid'),
  status: path.join(RUN_DIR, 'status.json'),
} as const;

/** The cgroup every pod's cgroup lives under (kubelet, cgroupfs driver). */
export const KUBEPODS_CGROUP = 'kubepods';
