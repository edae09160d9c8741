// What a real node adds to the testbed's control plane: kubelet, kube-scheduler, kube-proxy and
// kubectl (same Kubernetes version and throwaway module as kube-apiserver), CoreDNS, kube-router
// (the NetworkPolicy agent), and the container runtime from Debian's packages. Each Go build is
// cached by version.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { buildKubernetes } from '../kube/binaries.ts';
import { CACHE_DIR } from '../paths.ts';
import { ensureCachedDir } from '../tools/cached-dir.ts';
import { ensureDebianPackages } from '../tools/debian.ts';
import { goInstallCached } from '../tools/go-install.ts';
import { ensureKubeRouter } from '../tools/kube-router.ts';
import { TOOL_VERSIONS } from '../tools/versions.ts';

export interface NodeBinaries {
  kubelet: string;
  kubeScheduler: string;
  kubeProxy: string;
  kubectl: string;
  coredns: string;
  /** Enforces NetworkPolicies on the node (its firewall only). */
  kubeRouter: string;
  /** Debian's containerd, runc, ctr and the CNI plugins' folder. */
  containerd: string;
  runc: string;
  ctr: string;
  cniBinDir: string;
}

const NODE_PROGRAMS = ['kubelet', 'kube-scheduler', 'kube-proxy', 'kubectl'];

/** Debian packages the node runs on; `make cluster` installs the missing ones (as root). */
export const NODE_DEBIAN_PACKAGES = [
  'containerd',
  'runc',
  'containernetworking-plugins',
  'iptables',
  // kube-router's NetworkPolicy firewall keeps pod addresses in ipsets.
  'ipset',
  'iproute2',
  'conntrack',
  'util-linux',
];

export async function ensureNodeRuntime(): Promise<void> {
  await ensureDebianPackages(NODE_DEBIAN_PACKAGES);
}

/** The Go-built programs (no root needed; `make tools` builds them ahead of `make cluster`). */
export async function ensureNodeBinaries(): Promise<NodeBinaries> {
  const name = `kube-node-${TOOL_VERSIONS.kubernetes}`;
  const logFile = path.join(CACHE_DIR, `${name}.build.log`);
  const dir = await ensureCachedDir(
    name,
    async (tempDir) => {
      const work = path.join(tempDir, 'module');
      await buildKubernetes(tempDir, work, logFile, NODE_PROGRAMS);
      rmSync(work, { recursive: true, force: true });
    },
    {
      announce: `building ${NODE_PROGRAMS.join(', ')} ${TOOL_VERSIONS.kubernetes} (log: ${logFile})`,
    },
  );
  const coredns = await goInstallCached({
    cacheName: `coredns-${TOOL_VERSIONS.coredns}`,
    packageAtVersion: `github.com/coredns/coredns@${TOOL_VERSIONS.coredns}`,
    binary: 'coredns',
    ldflags: ['-s', '-w'],
  });
  const kubeRouter = await ensureKubeRouter();
  return {
    kubeRouter,
    kubelet: path.join(dir, 'kubelet'),
    kubeScheduler: path.join(dir, 'kube-scheduler'),
    kubeProxy: path.join(dir, 'kube-proxy'),
    kubectl: path.join(dir, 'kubectl'),
    coredns,
    containerd: '/usr/bin/containerd',
    runc: '/usr/sbin/runc',
    ctr: '/usr/bin/ctr',
    cniBinDir: '/usr/lib/cni',
  };
}
