import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { StopWaiting, waitFor } from './ports.ts';

export interface Child {
  name: string;
  process: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or signal name) once the process has gone. */
  exited: Promise<number | string>;
  stop(graceMs?: number): Promise<void>;
}

export interface ChildOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr are appended here; without it they are discarded. */
  logFile?: string;
  /** Run as this user (when we are root and the program refuses to be). */
  user?: { uid: number; gid: number };
  /** The signal that asks this program for a clean, prompt stop. */
  stopSignal?: NodeJS.Signals;
}

/** Starts a process whose output goes to a log file; stop() sends SIGTERM, then SIGKILL. */
export function startChild(options: ChildOptions): Child {
  const fd = options.logFile ? openSync(options.logFile, 'a') : 'ignore';
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', fd, fd],
    ...options.user,
  });
  if (typeof fd === 'number') closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${options.name}`);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', () => {
      resolve('spawn error');
    });
  });
  return {
    name: options.name,
    process: child,
    pid: child.pid,
    exited,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(options.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The last `lines` lines of a log file, for an error message; "(no log)" when it is missing. */
export function logTail(logFile: string, lines = 30): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** The pid a pid file names, if that process still runs. */
export function runningPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

/**
 * Waits for `ready`, giving up at once if the child exits; the error ends with the end of its
 * log, which says why.
 */
export async function waitForChild(
  child: Child,
  logFile: string,
  what: string,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  let exit: number | string | undefined;
  void child.exited.then((code) => (exit = code));
  try {
    await waitFor(
      what,
      async () => {
        if (exit !== undefined) throw new StopWaiting(`${child.name} exited (${exit})`);
        return ready();
      },
      timeoutMs,
      300,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; end of ${logFile}:\n${logTail(logFile)}`, {
      cause: error,
    });
  }
}
