// Removes everything a node run leaves, also after a killed session that never ran its stop:
// the supervisor and every process it started (found by the node's network namespace), the
// containers (found by their cgroups), those cgroups, mounts under the node's folders, the
// network namespace and the folders. Only what the node made is touched.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { alive, runningPid } from '../child.ts';
import { KUBEPODS_CGROUP, NODE_PATHS } from './layout.ts';
import { deleteNodeNetwork, nodeNetnsInode } from './network.ts';

const CGROUP_ROOT = '/sys/fs/cgroup';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function supervisorPid(): number | undefined {
  return runningPid(NODE_PATHS.supervisorPid);
}

/** Asks the supervisor to stop its components in order; kills it after `graceMs`. */
export async function stopSupervisor(graceMs = 60_000): Promise<void> {
  const pid = supervisorPid();
  if (pid === undefined) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(200);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function processIds(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => pid !== process.pid);
}

function netnsInodeOf(pid: number): number | undefined {
  try {
    const match = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`));
    return match?.[1] ? Number(match[1]) : undefined;
  } catch {
    return undefined; // gone, or a kernel thread
  }
}

function kill(pids: Iterable<number>): number {
  let count = 0;
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
      count += 1;
    } catch {
      // already gone
    }
  }
  return count;
}

/** Every cgroup folder of the pods: kubepods in each v1 hierarchy and in the unified one. */
function kubepodsCgroups(): string[] {
  if (!existsSync(CGROUP_ROOT)) return [];
  return readdirSync(CGROUP_ROOT)
    .map((hierarchy) => path.join(CGROUP_ROOT, hierarchy, KUBEPODS_CGROUP))
    .filter((dir) => existsSync(dir));
}

/** The folder and its sub-folders, deepest first (the order rmdir needs). */
function cgroupTree(dir: string): string[] {
  let children: string[] = [];
  try {
    children = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .flatMap((entry) => cgroupTree(path.join(dir, entry.name)));
  } catch {
    return [];
  }
  return [...children, dir];
}

/** The processes in these cgroups; one process shows in every v1 hierarchy, so once each. */
function cgroupProcesses(dirs: string[]): Set<number> {
  const pids = dirs.flatMap((dir) => {
    try {
      return readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map(Number);
    } catch {
      return [];
    }
  });
  return new Set(pids);
}

function unmountUnder(prefixes: string[]): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => prefixes.some((p) => point === p || point.startsWith(`${p}/`)))
    .sort((a, b) => b.length - a.length);
  for (const point of mounts) {
    try {
      execFileSync('umount', ['-l', point], { stdio: 'ignore' });
    } catch {
      // gone with an outer mount
    }
  }
}

/** Leaves the machine as if no node had run. Safe to call when nothing is there. */
export async function cleanupNode(log: (line: string) => void = () => {}): Promise<void> {
  await stopSupervisor();
  const inode = nodeNetnsInode();
  if (inode !== undefined) {
    const killed = kill(processIds().filter((pid) => netnsInodeOf(pid) === inode));
    if (killed > 0) log(`stopped ${killed} leftover node processes`);
  }
  // Containers live in their pods' namespaces: their cgroups find them.
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const trees = kubepodsCgroups().flatMap(cgroupTree);
    if (trees.length === 0) break;
    const killed = kill(cgroupProcesses(trees));
    if (killed > 0 && attempt === 0) log(`stopped ${killed} leftover container processes`);
    await sleep(killed > 0 ? 300 : 50);
    for (const dir of trees) {
      try {
        rmdirSync(dir);
      } catch {
        // still has processes: the next round kills them
      }
    }
  }
  const left = kubepodsCgroups();
  if (left.length > 0) throw new Error(`could not remove the cgroups ${left.join(', ')}`);
  unmountUnder([NODE_PATHS.state, NODE_PATHS.run]);
  deleteNodeNetwork();
  rmSync(NODE_PATHS.run, { recursive: true, force: true });
  rmSync(NODE_PATHS.state, { recursive: true, force: true });
}
