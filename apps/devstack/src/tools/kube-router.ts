// kube-router from the Go module proxy, cached per version: the real node runs only its
// NetworkPolicy firewall (iptables and ipset), as the node's network policy agent.
import { goInstallCached } from './go-install.ts';
import { ldflagsSetting } from './go.ts';
import { TOOL_VERSIONS } from './versions.ts';

export function ensureKubeRouter(): Promise<string> {
  const version = TOOL_VERSIONS.kubeRouter;
  return goInstallCached({
    cacheName: `kube-router-${version}`,
    packageAtVersion: `github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@${version}`,
    binary: 'kube-router',
    ldflags: [
      '-s',
      '-w',
      ...ldflagsSetting({
        'github.com/cloudnativelabs/kube-router/v2/pkg/version.Version': version,
      }),
    ],
  });
}
