// prometheus-operator's operator and config reloader from its Go module, cached per version (the
// version whose CRDs tools/crds.ts pins). Its go.mod replaces its sibling modules (pkg/apis/
// monitoring, pkg/client) with local folders, so `go install` refuses it: a throwaway module
// requires it and replaces each sibling with its published version of the same tag.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { goDirective, locallyReplacedModules, throwawayGoMod } from '../kube/throwaway-module.ts';
import { CACHE_DIR } from '../paths.ts';
import { ensureCachedDir } from './cached-dir.ts';
import { downloadModule, ldflagsSetting, runGo } from './go.ts';
import { TOOL_VERSIONS } from './versions.ts';

export const PROMETHEUS_OPERATOR_MODULE = 'github.com/prometheus-operator/prometheus-operator';

export interface PrometheusOperatorBinaries {
  dir: string;
  /** `cmd/operator`: turns Prometheus, ServiceMonitor, PodMonitor, PrometheusRule into config. */
  operator: string;
  /** `cmd/prometheus-config-reloader`: the sidecar that writes the config and reloads Prometheus. */
  configReloader: string;
  /** The module's own folder (read-only): example/rbac holds the upstream manifests. */
  moduleDir: string;
  version: string;
}

/** The cached binaries, built first (a few minutes on two cores) if this machine has none. */
export async function ensurePrometheusOperator(): Promise<PrometheusOperatorBinaries> {
  const version = TOOL_VERSIONS.prometheusOperator;
  const name = `prometheus-operator-${version}`;
  const logFile = path.join(CACHE_DIR, `${name}.build.log`);
  const upstream = await downloadModule(PROMETHEUS_OPERATOR_MODULE, version);
  const dir = await ensureCachedDir(
    name,
    async (tempDir) => {
      rmSync(logFile, { force: true });
      const goMod = readFileSync(upstream.GoMod, 'utf8');
      const work = path.join(tempDir, 'module');
      mkdirSync(work, { recursive: true });
      writeFileSync(
        path.join(work, 'go.mod'),
        throwawayGoMod({
          module: PROMETHEUS_OPERATOR_MODULE,
          version,
          replacements: Object.fromEntries(
            locallyReplacedModules(goMod).map((module) => [module, version]),
          ),
          goVersion: goDirective(goMod),
        }),
      );
      // The upstream Makefile's version variables (prometheus/common's version package).
      const ldflags = [
        '-s',
        '-w',
        ...ldflagsSetting({
          'github.com/prometheus/common/version.Version': version.replace(/^v/, ''),
          'github.com/prometheus/common/version.Revision': version,
          'github.com/prometheus/common/version.Branch': 'main',
        }),
      ].join(' ');
      for (const program of ['operator', 'prometheus-config-reloader']) {
        await runGo(
          [
            'build',
            '-o',
            path.join(tempDir, program),
            '-ldflags',
            ldflags,
            `${PROMETHEUS_OPERATOR_MODULE}/cmd/${program}`,
          ],
          { cwd: work, env: { CGO_ENABLED: '0' }, logFile },
        );
      }
      rmSync(work, { recursive: true, force: true });
    },
    {
      announce: `building prometheus-operator ${version} and its config reloader (log: ${logFile})`,
    },
  );
  return {
    dir,
    operator: path.join(dir, 'operator'),
    configReloader: path.join(dir, 'prometheus-config-reloader'),
    moduleDir: upstream.Dir,
    version,
  };
}
