// `make status`: the stack's state file as a table, one line per process.
import { describeExit } from './restart-policy.ts';
import type { StackState } from './settings.ts';

/** "12 s ago", "3 min ago", "2 h ago". */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/**
 * Lines for `make status`: the apps with their pid, running/restarting, restarts and last exit;
 * then the other processes (Kafka, PostgreSQL), which are not restarted. `alive` and `now` are
 * passed in (process.kill(pid, 0) and Date.now() in the CLI).
 */
export function formatStatus(
  state: StackState,
  supervisorPid: number,
  alive: (pid: number) => boolean,
  now: number,
): string[] {
  const lines = [`${state.state} (supervisor pid ${supervisorPid})`];
  const apps = state.apps ?? {};
  const width = Math.max(10, ...Object.keys(state.pids).map((n) => n.length));
  for (const [name, pid] of Object.entries(state.pids)) {
    const app = apps[name];
    if (!app) {
      lines.push(
        `  ${name.padEnd(width)}  pid ${String(pid).padEnd(8)} ${alive(pid) ? 'running' : 'EXITED'}`,
      );
      continue;
    }
    let what: string;
    if (app.status === 'restarting') {
      const at = app.restartAt ? Date.parse(app.restartAt) : NaN;
      what = Number.isNaN(at)
        ? 'restarting'
        : `restarting in ${Math.max(0, Math.ceil((at - now) / 1000))} s`;
    } else if (app.status === 'running' && !alive(app.pid)) {
      what = 'EXITED';
    } else {
      what = app.status;
    }
    let line = `  ${name.padEnd(width)}  pid ${String(app.pid).padEnd(8)} ${what.padEnd(16)} restarts ${app.restarts}`;
    if (app.lastExit) {
      line += `  last exit: ${describeExit(app.lastExit)} at ${app.lastExit.at} (${ago(now - Date.parse(app.lastExit.at))})`;
    }
    lines.push(line);
  }
  return lines;
}
