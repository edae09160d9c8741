import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

/**
 * Root runs PostgreSQL as the `postgres` user, who must reach its binaries and its data. A
 * checkout in a private directory (root's home is 0700) hides both. Rather than loosen the
 * user's own directory, we place them under a shared system folder that only root writes.
 */
export const SHARED_DIR = process.env.TELEMETRYPULSE_SHARED_DIR ?? '/var/lib/telemetrypulse';

export interface ServerUser {
  uid: number;
  gid: number;
}

/** Whether `user` can traverse every directory down to `target` (and search/execute it). */
export function canReach(user: ServerUser, target: string): boolean {
  return spawnSync('test', ['-x', target], { ...user, stdio: 'ignore' }).status === 0;
}

/** A directory only root writes and everyone may traverse (mkdir would honour the umask). */
function ensureSharedDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
}

/**
 * A copy of a PostgreSQL installation (`bin/`, `lib/`, `share/`) the user can run, made once per
 * version; the installation itself when the user reaches it already.
 */
export function reachableInstall(
  user: ServerUser,
  installDir: string,
  sharedDir = SHARED_DIR,
): string {
  if (canReach(user, path.join(installDir, 'bin', 'postgres'))) return installDir;
  const manifest = path.join(installDir, '..', 'package.json');
  const version = existsSync(manifest)
    ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version
    : createHash('sha256').update(installDir).digest('hex').slice(0, 12);
  const copy = path.join(sharedDir, `postgresql-${version}`);
  const complete = path.join(copy, '.complete');
  if (existsSync(complete)) return copy;
  ensureSharedDir(sharedDir);
  // Copy beside it and rename, so a concurrent start never sees half a copy.
  const partial = `${copy}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  execFileSync('cp', ['-a', installDir, partial]);
  execFileSync('chmod', ['-R', 'a+rX', partial]);
  writeFileSync(path.join(partial, '.complete'), '');
  rmSync(copy, { recursive: true, force: true });
  try {
    renameSync(partial, copy);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(complete)) throw error;
  }
  return copy;
}

/** Where a data directory the user cannot reach lives instead: one folder per requested path. */
export function sharedDataDir(dataDir: string, sharedDir = SHARED_DIR): string {
  const absolute = path.resolve(dataDir);
  const key = createHash('sha256').update(absolute).digest('hex').slice(0, 12);
  return path.join(sharedDir, 'data', `${path.basename(absolute)}-${key}`);
}

function isSymlink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * The directory PostgreSQL gets for `dataDir`: `dataDir` itself when the user reaches it, else
 * its shared place, with `dataDir` left as a symlink to it so the user still finds the data where
 * they asked for it.
 */
export function reachableDataDir(
  user: ServerUser,
  dataDir: string,
  sharedDir = SHARED_DIR,
): string {
  mkdirSync(path.dirname(dataDir), { recursive: true });
  if (canReach(user, path.dirname(dataDir))) return dataDir;
  const shared = sharedDataDir(dataDir, sharedDir);
  if (isSymlink(dataDir)) {
    if (readlinkSync(dataDir) === shared) return shared;
    rmSync(dataDir);
  } else if (existsSync(dataDir)) {
    if (existsSync(path.join(dataDir, 'PG_VERSION'))) {
      throw new Error(
        `${dataDir} holds a PostgreSQL cluster that the postgres user cannot reach (a parent ` +
          `directory is private); delete it (make reset) or move the checkout`,
      );
    }
    // An empty folder from a start that failed before data could be written.
    if (readdirSync(dataDir).length > 0) throw new Error(`${dataDir} is not a PostgreSQL cluster`);
    rmSync(dataDir, { recursive: true });
  } else if (existsSync(shared)) {
    // Its link is gone (make reset, or the checkout was deleted and cloned again): stale.
    rmSync(shared, { recursive: true, force: true });
  }
  ensureSharedDir(sharedDir);
  ensureSharedDir(path.dirname(shared));
  symlinkSync(shared, dataDir);
  return shared;
}

/** Deletes a data directory and, when it was moved to the shared place, the data there too. */
export function removeDataDir(dataDir: string, sharedDir = SHARED_DIR): void {
  if (isSymlink(dataDir)) {
    const target = readlinkSync(dataDir);
    if (target.startsWith(path.join(sharedDir, 'data') + path.sep)) {
      rmSync(target, { recursive: true, force: true });
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
}
