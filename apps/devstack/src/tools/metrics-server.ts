// metrics-server from the Go module proxy, cached per version: the resource metrics
// (metrics.k8s.io) the chart's HPA fallback (processor.autoscaling.mode=hpa) scales on. Its go.mod
// has no replace, so `go install` builds it as released. `make metrics-server` runs it on the node.
import { goInstallCached } from './go-install.ts';
import { ldflagsSetting } from './go.ts';
import { TOOL_VERSIONS } from './versions.ts';

export function ensureMetricsServer(): Promise<string> {
  const version = TOOL_VERSIONS.metricsServer;
  return goInstallCached({
    cacheName: `metrics-server-${version}`,
    packageAtVersion: `sigs.k8s.io/metrics-server/cmd/metrics-server@${version}`,
    binary: 'metrics-server',
    ldflags: [
      '-s',
      '-w',
      // The upstream Makefile's version variables.
      ...ldflagsSetting({ 'k8s.io/client-go/pkg/version.gitVersion': version }),
    ],
  });
}
