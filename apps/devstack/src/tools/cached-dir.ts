// A folder in the per-machine cache that is built once: concurrent test runs wait for the one
// that builds, and a half-built folder never appears under the final name.
import {
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import path from 'node:path';
import { CACHE_DIR } from '../paths.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock file, or returns the PID of the live process that holds it. */
function tryLock(lockPath: string): number | 'locked' {
  try {
    const fd = openSync(lockPath, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return 'locked';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const holder = Number(readFileSync(lockPath, 'utf8').trim());
  if (Number.isInteger(holder) && holder > 0 && alive(holder)) return holder;
  // The builder died (or was killed) without cleaning up: its lock counts for nothing, and
  // its half-built folder goes too.
  rmSync(lockPath, { force: true });
  if (Number.isInteger(holder) && holder > 0) {
    rmSync(`${lockPath.replace(/\.lock$/, '')}.tmp-${holder}`, { recursive: true, force: true });
  }
  return tryLock(lockPath);
}

export interface CachedDirOptions {
  /** Said once when this process starts building, e.g. "building helm v3.19.5". */
  announce?: string;
  /** How often a running build says it is still going (default 30 s). */
  heartbeatMs?: number;
  /** Where announcements and heartbeats go (default stderr). */
  log?: (line: string) => void;
  /** Poll interval while another process builds. */
  pollMs?: number;
  /** Default: CACHE_DIR. */
  cacheDir?: string;
}

const minutesAndSeconds = (ms: number) => {
  const total = Math.round(ms / 1000);
  return `${Math.floor(total / 60)}m${String(total % 60).padStart(2, '0')}s`;
};

/**
 * What a build of `name` is called whatever its version ("kube-v1.34.4-etcd-v3.6.16" → "kube"),
 * so the last build of an earlier version tells how long this one may take.
 */
export function buildKind(name: string): string {
  const words: string[] = [];
  for (const word of name.split('-')) {
    if (/^v?\d/.test(word)) break;
    words.push(word);
  }
  return words.join('-') || name;
}

/** The line a long build prints every so often. */
export function heartbeatLine(name: string, elapsedMs: number, lastMs?: number): string {
  const last =
    lastMs === undefined ? '' : `; the last build here took ${minutesAndSeconds(lastMs)}`;
  return `  still building ${name}: ${minutesAndSeconds(elapsedMs)} so far${last}`;
}

function lastBuildFile(cacheDir: string, name: string): string {
  return path.join(cacheDir, `${buildKind(name)}.last-build-ms`);
}

function lastBuildMs(cacheDir: string, name: string): number | undefined {
  try {
    const ms = Number(readFileSync(lastBuildFile(cacheDir, name), 'utf8'));
    return Number.isFinite(ms) && ms > 0 ? ms : undefined;
  } catch {
    return undefined;
  }
}

/**
 * <cache>/name, built by `build(tempDir)` if it is not there yet. The build writes into a
 * temporary folder that is renamed into place only when it succeeded.
 */
export async function ensureCachedDir(
  name: string,
  build: (tempDir: string) => Promise<void>,
  options: CachedDirOptions = {},
): Promise<string> {
  const cacheDir = options.cacheDir ?? CACHE_DIR;
  const finalDir = path.join(cacheDir, name);
  if (existsSync(finalDir)) return finalDir;
  mkdirSync(cacheDir, { recursive: true });
  const lockPath = `${finalDir}.lock`;
  let waitingFor: number | undefined;
  for (;;) {
    const holder = tryLock(lockPath);
    if (holder === 'locked') break;
    if (waitingFor !== holder) {
      console.error(`waiting for process ${holder} that is building ${finalDir}`);
      waitingFor = holder;
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 2000));
    if (existsSync(finalDir)) return finalDir;
  }
  const tempDir = `${finalDir}.tmp-${process.pid}`;
  try {
    // Another process may have finished between our check and taking the lock.
    if (existsSync(finalDir)) return finalDir;
    rmSync(tempDir, { recursive: true, force: true });
    mkdirSync(tempDir, { recursive: true });
    const log =
      options.log ??
      ((line: string) => {
        console.error(line);
      });
    if (options.announce) log(`${options.announce} into ${finalDir}`);
    const started = Date.now();
    const lastMs = lastBuildMs(cacheDir, name);
    // A long build that prints nothing looks hung: say every so often that it is still going.
    const heartbeat = setInterval(() => {
      log(heartbeatLine(name, Date.now() - started, lastMs));
    }, options.heartbeatMs ?? 30_000);
    try {
      await build(tempDir);
    } finally {
      clearInterval(heartbeat);
    }
    renameSync(tempDir, finalDir);
    writeFileSync(lastBuildFile(cacheDir, name), String(Date.now() - started));
    return finalDir;
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
    rmSync(lockPath, { force: true });
  }
}
