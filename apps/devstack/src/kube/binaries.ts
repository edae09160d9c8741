// kube-apiserver, kube-controller-manager and etcd, built from the Go module proxy once per
// machine and version (CACHE_DIR/kube-<version>-etcd-<version>/).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CACHE_DIR } from '../paths.ts';
import { ensureCachedDir } from '../tools/cached-dir.ts';
import { downloadModule, ldflagsSetting, runGo } from '../tools/go.ts';
import { majorMinor, TOOL_VERSIONS } from '../tools/versions.ts';
import { goDirective, locallyReplacedModules, throwawayGoMod } from './throwaway-module.ts';

export interface KubeBinaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubernetesVersion: string;
  etcdVersion: string;
}

export function kubeBinariesDirName(
  kubernetesVersion: string = TOOL_VERSIONS.kubernetes,
  etcdVersion: string = TOOL_VERSIONS.etcd,
): string {
  return `kube-${kubernetesVersion}-etcd-${etcdVersion}`;
}

/** What `kubectl version` and discovery report; the upstream build sets the same variables. */
export function kubernetesVersionLdflags(version: string, buildDate: string): string[] {
  const { major, minor } = majorMinor(version);
  return ['k8s.io/client-go/pkg/version', 'k8s.io/component-base/version'].flatMap((pkg) =>
    ldflagsSetting({
      [`${pkg}.gitVersion`]: version,
      [`${pkg}.gitMajor`]: major,
      [`${pkg}.gitMinor`]: minor,
      [`${pkg}.gitTreeState`]: 'clean',
      [`${pkg}.buildDate`]: buildDate,
    }),
  );
}

/** Writes a throwaway module that requires `module@version` with its siblings pinned. */
async function prepareModule(
  dir: string,
  module: string,
  version: string,
  siblingVersion: string,
): Promise<void> {
  const upstream = readFileSync((await downloadModule(module, version)).GoMod, 'utf8');
  const replacements = Object.fromEntries(
    locallyReplacedModules(upstream).map((sibling) => [sibling, siblingVersion]),
  );
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'go.mod'),
    throwawayGoMod({ module, version, replacements, goVersion: goDirective(upstream) }),
  );
}

const STATIC_BUILD = { CGO_ENABLED: '0' };

/** Builds `k8s.io/kubernetes/cmd/<program>` for each program into outDir. */
export async function buildKubernetes(
  outDir: string,
  workDir: string,
  logFile: string,
  programs: string[],
): Promise<void> {
  const { kubernetes, kubernetesStaging } = TOOL_VERSIONS;
  await prepareModule(workDir, 'k8s.io/kubernetes', kubernetes, kubernetesStaging);
  const buildDate = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const ldflags = ['-s', '-w', ...kubernetesVersionLdflags(kubernetes, buildDate)].join(' ');
  // One `go build` for all programs lets Go compile their shared packages once, in parallel.
  await runGo(
    [
      'build',
      '-o',
      `${outDir}/`,
      '-ldflags',
      ldflags,
      ...programs.map((program) => `k8s.io/kubernetes/cmd/${program}`),
    ],
    { cwd: workDir, env: STATIC_BUILD, logFile },
  );
}

async function buildEtcd(outDir: string, workDir: string, logFile: string): Promise<void> {
  const { etcd } = TOOL_VERSIONS;
  // etcd's server module replaces api, client and pkg with ../ folders of the same release.
  await prepareModule(workDir, 'go.etcd.io/etcd/server/v3', etcd, etcd);
  await runGo(
    ['build', '-o', path.join(outDir, 'etcd'), '-ldflags', '-s -w', 'go.etcd.io/etcd/server/v3'],
    { cwd: workDir, env: STATIC_BUILD, logFile },
  );
}

function binariesIn(dir: string): KubeBinaries {
  return {
    dir,
    etcd: path.join(dir, 'etcd'),
    kubeApiserver: path.join(dir, 'kube-apiserver'),
    kubeControllerManager: path.join(dir, 'kube-controller-manager'),
    kubernetesVersion: TOOL_VERSIONS.kubernetes,
    etcdVersion: TOOL_VERSIONS.etcd,
  };
}

/**
 * The cached binaries, built first if this machine has none of this version. A cold build
 * compiles Kubernetes from source: tens of minutes on two cores; later calls return at once.
 */
export async function ensureKubeBinaries(): Promise<KubeBinaries> {
  const name = kubeBinariesDirName();
  const logFile = path.join(CACHE_DIR, `${name}.build.log`);
  const dir = await ensureCachedDir(
    name,
    async (tempDir) => {
      rmSync(logFile, { force: true });
      const work = path.join(tempDir, 'modules');
      await buildEtcd(tempDir, path.join(work, 'etcd'), logFile);
      await buildKubernetes(tempDir, path.join(work, 'kubernetes'), logFile, [
        'kube-apiserver',
        'kube-controller-manager',
      ]);
      rmSync(work, { recursive: true, force: true });
    },
    {
      announce: `building kube-apiserver, kube-controller-manager ${TOOL_VERSIONS.kubernetes} and etcd ${TOOL_VERSIONS.etcd} (a cold build takes a long while; log: ${logFile})`,
    },
  );
  return binariesIn(dir);
}
