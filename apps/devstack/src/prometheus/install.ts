// Prometheus and promtool from Debian's `prometheus` package, unpacked into the per-machine cache
// without installing anything: `apt-get download` + `dpkg -x`, one folder per package version.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ensureCachedDir } from '../tools/cached-dir.ts';

export interface PrometheusBinaries {
  version: string;
  prometheus: string;
  promtool: string;
}

const PACKAGE = 'prometheus';

function run(command: string, args: string[], cwd?: string): string {
  return execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    // apt prints translated messages otherwise; we parse them.
    env: { ...process.env, LC_ALL: 'C' },
  });
}

/** The version apt would download, or undefined when its package lists do not know it. */
function candidateVersion(): string | undefined {
  const policy = run('apt-cache', ['policy', PACKAGE]);
  const candidate = /Candidate:\s*(\S+)/.exec(policy)?.[1];
  return candidate === undefined || candidate === '(none)' ? undefined : candidate;
}

/** Fetches the .deb into `dir`; returns its path. */
function download(dir: string, version: string): string {
  run('apt-get', ['download', `${PACKAGE}=${version}`], dir);
  const deb = readdirSync(dir).find((f) => f.startsWith(`${PACKAGE}_`) && f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${PACKAGE}=${version} left no .deb in ${dir}`);
  return path.join(dir, deb);
}

function updatePackageLists(): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `apt's package lists do not offer ${PACKAGE} and updating them needs root: ` +
        'run `sudo apt-get update` once, then this again',
    );
  }
  console.error(`apt-get update (the package lists do not offer ${PACKAGE})`);
  run('apt-get', ['update']);
}

/**
 * Path of the `prometheus` and `promtool` binaries, unpacked on first use into
 * CACHE_DIR/prometheus-<version>. The system is not changed: `apt-get update` runs only when
 * apt cannot offer the package otherwise (a fresh CI machine), and nothing is installed.
 */
export async function installPrometheus(): Promise<PrometheusBinaries> {
  let version = candidateVersion();
  if (version === undefined) {
    updatePackageLists();
    version = candidateVersion();
    if (version === undefined) throw new Error(`apt offers no ${PACKAGE} package on this machine`);
  }
  const found = version;
  const dir = await ensureCachedDir(
    `prometheus-${found.replace(/[^A-Za-z0-9.+-]/g, '_')}`,
    (tempDir) => {
      let deb: string;
      try {
        deb = download(tempDir, found);
      } catch {
        // Stale lists name a version the mirror no longer has.
        updatePackageLists();
        deb = download(tempDir, found);
      }
      run('dpkg', ['-x', deb, path.join(tempDir, 'root')]);
      rmSync(deb);
      return Promise.resolve();
    },
    { announce: `unpacking Debian's ${PACKAGE} ${found}` },
  );
  const bin = path.join(dir, 'root', 'usr', 'bin');
  return {
    version: found,
    prometheus: path.join(bin, 'prometheus'),
    promtool: path.join(bin, 'promtool'),
  };
}
