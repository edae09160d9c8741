// Prometheus itself from its Go module, cached per version, for the pods prometheus-operator runs:
// Debian's package (prometheus/install.ts, what the local checks run) is built without Kubernetes
// service discovery ("field kubernetes_sd_configs not found"), which the operator's configuration
// needs. The module's go.mod replaces klog with published modules, so `go install` refuses it: a
// throwaway module requires it and repeats those replaces.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { goDirective } from '../kube/throwaway-module.ts';
import { CACHE_DIR } from '../paths.ts';
import { ensureCachedDir } from './cached-dir.ts';
import { downloadModule, ldflagsSetting, runGo } from './go.ts';
import { TOOL_VERSIONS } from './versions.ts';

const PROMETHEUS_MODULE = 'github.com/prometheus/prometheus';

/** The replace lines of a go.mod that name published modules (`A => B vX`), verbatim. */
export function publishedReplaceLines(goMod: string): string[] {
  const text = goMod.replace(/\/\/.*$/gm, '');
  const lines: string[] = [];
  for (const block of text.matchAll(/^replace\s*\(([\s\S]*?)^\)/gm)) {
    lines.push(...(block[1] ?? '').split('\n'));
  }
  for (const line of text.matchAll(/^replace[ \t]+([^(\s].*)$/gm)) lines.push(line[1] ?? '');
  return lines
    .map((line) => line.trim())
    .filter((line) => /^\S+(?:\s+\S+)?\s+=>\s+[^./\s]\S*\s+\S+$/.test(line));
}

/** "v0.53.3" (the module's version) → "v2.53.3" (what Prometheus calls itself). */
export function prometheusRelease(moduleVersion: string): string {
  const match = /^v0\.(\d+)\.(\d+)$/.exec(moduleVersion);
  if (!match) throw new Error(`not a Prometheus 2.x module version: ${moduleVersion}`);
  return `v2.${match[1] ?? ''}.${match[2] ?? ''}`;
}

export interface PrometheusServerBinary {
  prometheus: string;
  /** Prometheus's own version, e.g. v2.53.3. */
  version: string;
}

/** The cached static binary, built first (several minutes on two cores) if this machine has none. */
export async function ensurePrometheusServer(): Promise<PrometheusServerBinary> {
  const moduleVersion = TOOL_VERSIONS.prometheusModule;
  const version = prometheusRelease(moduleVersion);
  const name = `prometheus-server-${version}`;
  const logFile = path.join(CACHE_DIR, `${name}.build.log`);
  const dir = await ensureCachedDir(
    name,
    async (tempDir) => {
      rmSync(logFile, { force: true });
      const upstream = await downloadModule(PROMETHEUS_MODULE, moduleVersion);
      const goMod = readFileSync(upstream.GoMod, 'utf8');
      const replaces = publishedReplaceLines(goMod);
      const work = path.join(tempDir, 'module');
      mkdirSync(work, { recursive: true });
      writeFileSync(
        path.join(work, 'go.mod'),
        `module telemetrypulse.local/throwaway\n\ngo ${goDirective(goMod)}\n\n` +
          `require ${PROMETHEUS_MODULE} ${moduleVersion}\n` +
          (replaces.length ? `\nreplace (\n${replaces.map((r) => `\t${r}\n`).join('')})\n` : ''),
      );
      // The upstream Makefile's (promu's) version variable and `netgo` tag; no web UI assets
      // (they come from an npm build the module does not carry): the HTTP API is what is used.
      const ldflags = [
        '-s',
        '-w',
        ...ldflagsSetting({
          'github.com/prometheus/common/version.Version': version.replace(/^v/, ''),
          'github.com/prometheus/common/version.Revision': moduleVersion,
        }),
      ].join(' ');
      await runGo(
        [
          'build',
          '-tags',
          'netgo',
          '-o',
          path.join(tempDir, 'prometheus'),
          '-ldflags',
          ldflags,
          `${PROMETHEUS_MODULE}/cmd/prometheus`,
        ],
        { cwd: work, env: { CGO_ENABLED: '0' }, logFile },
      );
      rmSync(work, { recursive: true, force: true });
    },
    { announce: `building Prometheus ${version} from its Go module (log: ${logFile})` },
  );
  return { prometheus: path.join(dir, 'prometheus'), version };
}
