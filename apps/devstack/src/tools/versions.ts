// Pinned versions of the tools the project builds or installs (Go module proxy, PyPI). Bump here, nowhere else:
// every cache folder is named after these, so a bump builds fresh and the old folder stays unused.
export const TOOL_VERSIONS = {
  kubernetes: 'v1.34.4',
  /** The k8s.io/<staging> modules that belong to `kubernetes` (v1.X.Y ↔ v0.X.Y). */
  kubernetesStaging: 'v0.34.4',
  etcd: 'v3.6.16',
  coredns: 'v1.15.0',
  helm: 'v3.19.5',
  actionlint: 'v1.7.12',
  keda: 'v2.21.0',
  /** The HPA fallback's resource metrics (make metrics-server). */
  metricsServer: 'v0.8.0',
  prometheusOperator: 'v0.85.0',
  /**
   * The Prometheus that prometheus-operator runs on the node: github.com/prometheus/prometheus
   * v0.53.3 is Prometheus v2.53.3 (an LTS release the operator supports). Debian's prometheus
   * 2.42 (the local checks') is built without Kubernetes service discovery.
   */
  prometheusModule: 'v0.53.3',
  /**
   * The real node's NetworkPolicy agent (its iptables/ipset firewall only). Not
   * sigs.k8s.io/kube-network-policies: that one queues packets with nftables' `queue`
   * expression, which kernels without CONFIG_NFT_QUEUE (these machines') refuse.
   */
  kubeRouter: 'v2.1.0',
  /** From PyPI, into a virtualenv: the API's fuzzing test (apps/api/test/integration/fuzz.test.ts). */
  schemathesis: '4.32.5',
} as const;

/** "v1.34.4" → { major: "1", minor: "34" }, for version ldflags. */
export function majorMinor(version: string): { major: string; minor: string } {
  const match = /^v(\d+)\.(\d+)\.\d+/.exec(version);
  if (!match?.[1] || !match[2]) throw new Error(`not a semantic version: ${version}`);
  return { major: match[1], minor: match[2] };
}
