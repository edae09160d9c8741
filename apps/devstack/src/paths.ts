import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEVSTACK_DIR = fileURLToPath(new URL('../', import.meta.url));

/** Downloads are cached per machine, outside the repo, so fresh clones and CI reuse them. */
export const CACHE_DIR =
  process.env.TELEMETRYPULSE_CACHE ?? path.join(homedir(), '.cache', 'telemetrypulse');

/**
 * Node's compile cache for the apps run from this checkout (`make up`, the benchmarks), as the
 * images carry one (Dockerfile): type-stripped sources and V8 code are reused, so the TypeScript
 * compiler is not loaded after the first start. Entries are keyed by file content: never stale.
 */
export const NODE_COMPILE_CACHE_DIR = path.join(CACHE_DIR, 'node-compile-cache');

/** State of the local stack (`make up`): data, logs, pids. Git ignores it. */
export const LOCAL_DIR = process.env.TELEMETRYPULSE_LOCAL_DIR ?? path.join(REPO_ROOT, '.local');
