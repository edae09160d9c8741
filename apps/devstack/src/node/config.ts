// The node's configuration files, as pure functions of the layout (unit-tested). The settings
// that matter on these machines are explained where they are set; see shared REAL-NODE.md.
import { stringify } from 'yaml';
import { NODE_NAME, NODE_NETWORK, NODE_PATHS } from './layout.ts';

export interface ContainerdSettings {
  sandboxImage: string;
  runc: string;
  cniBinDir: string;
}

export function containerdConfig(settings: ContainerdSettings): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = ${JSON.stringify(NODE_PATHS.containerdRoot)}
state = ${JSON.stringify(NODE_PATHS.containerdState)}
# Snapshotters this machine cannot use would only log errors at every start.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = ${JSON.stringify(NODE_PATHS.containerdSocket)}

[${cri}]
  sandbox_image = ${JSON.stringify(settings.sandboxImage)}
  # Without CAP_SYS_RESOURCE nothing may lower an oom_score_adj: every sandbox fails otherwise.
  restrict_oom_score_adj = true
  # Pod network namespaces are mounted in the node's own folder, not the machine's /run/netns.
  netns_mounts_under_state_dir = true
  [${cri}.cni]
    bin_dir = ${JSON.stringify(settings.cniBinDir)}
    conf_dir = ${JSON.stringify(NODE_PATHS.cniConfDir)}
  [${cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [${cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [${cri}.containerd.runtimes.runc.options]
        BinaryName = ${JSON.stringify(settings.runc)}
        SystemdCgroup = false
`;
}

/** Pods on one Linux bridge inside the node's namespace, as kind's kindnet does per node. */
export function cniConfList(): string {
  return `${JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'telemetrypulse',
      plugins: [
        {
          type: 'bridge',
          bridge: NODE_NETWORK.bridge,
          isGateway: true,
          ipMasq: true,
          // A pod that reaches itself through its Service's ClusterIP.
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: NODE_PATHS.cniDataDir,
            ranges: [[{ subnet: NODE_NETWORK.podCidr }]],
            routes: [{ dst: '0.0.0.0/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

export interface KubeletSettings {
  caFile: string;
  tlsCertFile: string;
  tlsKeyFile: string;
}

export function kubeletConfig(settings: KubeletSettings): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: NODE_NETWORK.nodeIp,
    port: NODE_NETWORK.kubeletPort,
    healthzBindAddress: '127.0.0.1',
    containerRuntimeEndpoint: `unix://${NODE_PATHS.containerdSocket}`,
    // cgroup v1 hierarchies with cgroup2 beside them, and no systemd to delegate to.
    cgroupDriver: 'cgroupfs',
    failCgroupV1: false,
    failSwapOn: false,
    // No eviction, allocatable enforcement or ephemeral-storage accounting: the node shares a
    // developer's machine and its disk, and must not evict pods because that disk is busy.
    evictionHard: { 'memory.available': '0%', 'nodefs.available': '0%', 'imagefs.available': '0%' },
    enforceNodeAllocatable: [],
    localStorageCapacityIsolation: false,
    // Images are built and imported locally; nothing could pull one again after a GC.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    clusterDNS: [NODE_NETWORK.nodeIp],
    clusterDomain: 'cluster.local',
    resolvConf: NODE_PATHS.resolvConf,
    podLogsDir: NODE_PATHS.podLogs,
    tlsCertFile: settings.tlsCertFile,
    tlsPrivateKeyFile: settings.tlsKeyFile,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: settings.caFile },
    },
    authorization: { mode: 'Webhook' },
    // Pods are created with these; the node is one machine's worth.
    maxPods: 60,
    serializeImagePulls: false,
    shutdownGracePeriod: '0s',
  });
}

export function kubeProxyConfig(kubeconfig: string): string {
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig },
    hostnameOverride: NODE_NAME,
    clusterCIDR: NODE_NETWORK.clusterCidr,
    bindAddress: NODE_NETWORK.nodeIp,
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    // The conntrack table is the machine's, not the namespace's: leave its size alone (as kind).
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  });
}

/**
 * kube-router as the node's NetworkPolicy agent, as kindnet or Calico are on other clusters: its
 * firewall only (iptables chains on INPUT, FORWARD and OUTPUT, pod addresses in ipsets), so
 * policies hold for pod-to-pod traffic and for pods dialling the node's own servers (Kafka,
 * PostgreSQL, CoreDNS, the API server). The bridge keeps routing and kube-proxy keeps Services.
 */
export function kubeRouterArgs(kubeconfig: string): string[] {
  return [
    '--run-firewall=true',
    '--run-router=false',
    '--run-service-proxy=false',
    '--enable-cni=false',
    `--kubeconfig=${kubeconfig}`,
    `--hostname-override=${NODE_NAME}`,
    `--service-cluster-ip-range=${NODE_NETWORK.serviceCidr}`,
    '--health-port=0',
    '--metrics-port=0',
  ];
}

/** CoreDNS answers for Services and pods on the node's address; nothing else is forwarded. */
export function corefile(kubeconfig: string): string {
  return `.:53 {
    bind ${NODE_NETWORK.nodeIp}
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
}
`;
}

/** What pods with dnsPolicy Default get: the node has no upstream resolver to offer. */
export function nodeResolvConf(): string {
  return `nameserver ${NODE_NETWORK.nodeIp}\n`;
}
