// A Debian package's files unpacked into the per-machine cache without installing anything
// (`apt-get download` + `dpkg -x`, one folder per package version): for servers the tests start
// themselves (Prometheus, nginx), whose packages would otherwise start a system service.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ensureCachedDir } from './cached-dir.ts';

export interface UnpackedPackage {
  version: string;
  /** The unpacked tree: `<root>/usr/bin/…`, `<root>/usr/sbin/…`. */
  root: string;
}

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
function candidateVersion(name: string): string | undefined {
  const policy = run('apt-cache', ['policy', name]);
  const candidate = /Candidate:\s*(\S+)/.exec(policy)?.[1];
  return candidate === undefined || candidate === '(none)' ? undefined : candidate;
}

/** Fetches the .deb into `dir`; returns its path. */
function download(dir: string, name: string, version: string): string {
  run('apt-get', ['download', `${name}=${version}`], dir);
  const deb = readdirSync(dir).find((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${name}=${version} left no .deb in ${dir}`);
  return path.join(dir, deb);
}

function updatePackageLists(name: string): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `apt's package lists do not offer ${name} and updating them needs root: ` +
        'run `sudo apt-get update` once, then this again',
    );
  }
  console.error(`apt-get update (the package lists do not offer ${name})`);
  run('apt-get', ['update']);
}

/**
 * The package's files, unpacked on first use into CACHE_DIR/<name>-<version>. The system is not
 * changed: `apt-get update` runs only when apt cannot offer the package otherwise (a fresh CI
 * machine), and nothing is installed. Its dependencies are not fetched: the caller's binaries
 * must need only libraries the machine has.
 */
export async function unpackDebianPackage(name: string): Promise<UnpackedPackage> {
  let version = candidateVersion(name);
  if (version === undefined) {
    updatePackageLists(name);
    version = candidateVersion(name);
    if (version === undefined) throw new Error(`apt offers no ${name} package on this machine`);
  }
  const found = version;
  const dir = await ensureCachedDir(
    `${name}-${found.replace(/[^A-Za-z0-9.+-]/g, '_')}`,
    (tempDir) => {
      let deb: string;
      try {
        deb = download(tempDir, name, found);
      } catch {
        // Stale lists name a version the mirror no longer has.
        updatePackageLists(name);
        deb = download(tempDir, name, found);
      }
      run('dpkg', ['-x', deb, path.join(tempDir, 'root')]);
      rmSync(deb);
      return Promise.resolve();
    },
    { announce: `unpacking Debian's ${name} ${found}` },
  );
  return { version: found, root: path.join(dir, 'root') };
}
