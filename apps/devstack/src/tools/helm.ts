// Helm 3 built from the Go module proxy, cached per version.
import { goInstallCached } from './go-install.ts';
import { ldflagsSetting } from './go.ts';
import { majorMinor, TOOL_VERSIONS } from './versions.ts';

/**
 * The helm binary. Built the way Helm's own Makefile builds it: `helm version` reports the
 * release, and the Kubernetes version that `helm template` and `helm lint` assume by default
 * (`.Capabilities.KubeVersion`) is the testbed's rather than Go-default 1.20.
 */
export function ensureHelm(): Promise<string> {
  const { helm, kubernetes } = TOOL_VERSIONS;
  const { major, minor } = majorMinor(kubernetes);
  return goInstallCached({
    cacheName: `helm-${helm}`,
    packageAtVersion: `helm.sh/helm/v3/cmd/helm@${helm}`,
    binary: 'helm',
    ldflags: [
      '-s',
      '-w',
      ...ldflagsSetting({
        'helm.sh/helm/v3/internal/version.version': helm,
        'helm.sh/helm/v3/internal/version.gitTreeState': 'clean',
        'helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor': major,
        'helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor': minor,
        'helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor': major,
        'helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor': minor,
      }),
    ],
  });
}
