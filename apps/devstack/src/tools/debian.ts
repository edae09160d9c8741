// Debian packages the project runs (buildah, mmdebstrap, runc, containerd, ...): installed with apt
// when missing, so a fresh Debian machine needs nothing done by hand.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** `apt-get update` runs at most once per process. */
let updated: Promise<void> | undefined;

const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
/** Waits for another apt (a concurrent test run, unattended upgrades) instead of failing. */
const APT_LOCK_WAIT = ['-o', 'DPkg::Lock::Timeout=300'];

/** Whether dpkg reports the package as installed. */
export async function isDebianPackageInstalled(name: string): Promise<boolean> {
  try {
    const { stdout } = await execFileAsync('dpkg-query', ['-W', '-f=${Status}', name]);
    return stdout.trim() === 'install ok installed';
  } catch {
    // dpkg-query exits 1 for a package it has never heard of.
    return false;
  }
}

async function apt(args: string[]): Promise<void> {
  try {
    await execFileAsync('apt-get', [...APT_LOCK_WAIT, ...args], {
      env: APT_ENV,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    const detail = (stderr || stdout || String(error)).trim().slice(-4000);
    throw new Error(`apt-get ${args.join(' ')} failed:\n${detail}`);
  }
}

/**
 * Installs the Debian packages among `names` that are not installed yet (`apt-get update` once,
 * then `apt-get install --no-install-recommends`). Returns the ones it installed. Installing needs
 * root; when everything is there already it does not.
 */
export async function ensureDebianPackages(
  names: readonly string[],
  log: (line: string) => void = console.error,
): Promise<string[]> {
  const installed = await Promise.all(names.map(isDebianPackageInstalled));
  const missing = names.filter((_, i) => !installed[i]);
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) {
    throw new Error(
      `the Debian packages ${missing.join(', ')} are missing and installing them needs root: ` +
        `run this as root, or first: sudo apt-get install --no-install-recommends ${missing.join(' ')}`,
    );
  }
  log(`installing Debian packages: ${missing.join(', ')}`);
  updated ??= apt(['update']).catch((error: unknown) => {
    updated = undefined;
    throw error;
  });
  await updated;
  await apt(['install', '-y', '--no-install-recommends', ...missing]);
  return missing;
}
