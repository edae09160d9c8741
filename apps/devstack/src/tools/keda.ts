// KEDA's operator and metrics adapter from its Go module, cached per version. `go install` refuses
// the module (its go.mod has a replace), so a throwaway module requires it and copies the replace.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { goDirective, throwawayGoMod } from '../kube/throwaway-module.ts';
import { CACHE_DIR } from '../paths.ts';
import { ensureCachedDir } from './cached-dir.ts';
import { downloadModule, ldflagsSetting, runGo } from './go.ts';
import { TOOL_VERSIONS } from './versions.ts';

const KEDA_MODULE = 'github.com/kedacore/keda/v2';

export interface KedaBinaries {
  dir: string;
  /** `cmd/operator`: turns ScaledObjects into HPAs and serves metric values over gRPC. */
  operator: string;
  /** `cmd/adapter`: the `external.metrics.k8s.io` API server the HPA controller asks. */
  adapter: string;
  /** The module's own folder (read-only): config/ holds the upstream manifests. */
  moduleDir: string;
  version: string;
}

/**
 * Replaces of published versions (`A v1 => B v2`, not `=> ./folder`) in a go.mod, as
 * module → version for a replace of the same module. Only the main module's replaces count,
 * so the throwaway module has to repeat them.
 */
export function publishedReplacements(goMod: string): Record<string, string> {
  const text = goMod.replace(/\/\/.*$/gm, '');
  const lines: string[] = [];
  for (const block of text.matchAll(/^replace\s*\(([\s\S]*?)^\)/gm)) {
    lines.push(...(block[1] ?? '').split('\n'));
  }
  for (const line of text.matchAll(/^replace[ \t]+([^(\s].*)$/gm)) lines.push(line[1] ?? '');
  const replacements: Record<string, string> = {};
  for (const line of lines) {
    const match = /^\s*(\S+)(?:\s+\S+)?\s+=>\s+(\S+)\s+(\S+)\s*$/.exec(line);
    if (!match?.[1] || !match[2] || !match[3]) continue;
    if (match[1] !== match[2]) {
      throw new Error(`replace of ${match[1]} by another module (${match[2]}) is not supported`);
    }
    replacements[match[1]] = match[3];
  }
  return replacements;
}

function binariesIn(dir: string, moduleDir: string): KedaBinaries {
  return {
    dir,
    operator: path.join(dir, 'keda'),
    adapter: path.join(dir, 'keda-adapter'),
    moduleDir,
    version: TOOL_VERSIONS.keda,
  };
}

/** The cached binaries, built first (about 8 minutes on two cores) if this machine has none. */
export async function ensureKeda(): Promise<KedaBinaries> {
  const version = TOOL_VERSIONS.keda;
  const name = `keda-${version}`;
  const logFile = path.join(CACHE_DIR, `${name}.build.log`);
  const upstream = await downloadModule(KEDA_MODULE, version);
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
          module: KEDA_MODULE,
          version,
          replacements: publishedReplacements(goMod),
          goVersion: goDirective(goMod),
        }),
      );
      // The upstream Makefile's version variables, so the programs log the version they are.
      const ldflags = [
        '-s',
        '-w',
        ...ldflagsSetting({
          [`${KEDA_MODULE}/version.Version`]: version,
          [`${KEDA_MODULE}/version.GitCommit`]: version,
        }),
      ].join(' ');
      for (const [program, binary] of [
        ['operator', 'keda'],
        ['adapter', 'keda-adapter'],
      ] as const) {
        await runGo(
          [
            'build',
            '-o',
            path.join(tempDir, binary),
            '-ldflags',
            ldflags,
            `${KEDA_MODULE}/cmd/${program}`,
          ],
          { cwd: work, env: { CGO_ENABLED: '0' }, logFile },
        );
      }
      rmSync(work, { recursive: true, force: true });
    },
    {
      announce: `building KEDA ${version} operator and metrics adapter (about 8 minutes cold; log: ${logFile})`,
    },
  );
  return binariesIn(dir, upstream.Dir);
}
