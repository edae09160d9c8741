// For the startup-wait tests of every app: a program as a child process whose output the test
// reads, and a TCP proxy that makes a real server appear on a port only when the test says so.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { pino, type Logger } from 'pino';

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger whose JSON lines land in `lines`; `until` resolves once one matches. */
export function recordingLogger(): {
  logger: Logger;
  lines: LogLine[];
  until: (match: (lines: LogLine[]) => boolean) => Promise<void>;
} {
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  const logger = pino(
    { level: 'debug', formatters: { level: (label) => ({ level: label }) } },
    {
      write: (line: string) => {
        lines.push(JSON.parse(line) as LogLine);
        for (const waiter of waiters) waiter();
      },
    },
  );
  return {
    logger,
    lines,
    until: (match) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (!match(lines)) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      }),
  };
}

export interface NodeProcess {
  child: ChildProcess;
  /** Resolves with the exit code, or the signal that ended it. */
  exited: Promise<number | string>;
  output(): string;
  /** The JSON log lines so far (anything else on stdout/stderr is skipped). */
  logLines(): Record<string, unknown>[];
  /** Resolves once the output matches; rejects if the process exits first. */
  waitForOutput(pattern: RegExp, what?: string): Promise<void>;
  /** SIGKILL if still running (for after hooks). */
  kill(): Promise<void>;
}

/**
 * SIGTERM while the program waits for a dependency (once its output matches `waiting`, when
 * given): it exits 0 without a fatal line.
 */
export async function assertStopsCleanly(program: NodeProcess, waiting?: RegExp): Promise<void> {
  if (waiting) await program.waitForOutput(waiting);
  program.child.kill('SIGTERM');
  assert.equal(await program.exited, 0, program.output());
  assert.ok(!program.logLines().some((l) => l.level === 'fatal'), program.output());
}

/**
 * A program run with STARTUP_WAIT_SECONDS=1 against a dependency that never comes: it exits 1
 * and its fatal line names the dependency, its address (`target`, a regular expression) and the
 * bound, then the last error when `lastError` is given.
 */
export async function assertGaveUp(
  program: NodeProcess,
  dependency: string,
  target: string,
  lastError?: string,
): Promise<void> {
  assert.equal(await program.exited, 1, program.output());
  const fatal = program.logLines().find((l) => l.level === 'fatal');
  const reason = `^${dependency} at ${target} is not available: gave up after \\d+ attempts in \\d+ s \\(STARTUP_WAIT_SECONDS=1\\)`;
  assert.match(
    String(fatal?.msg),
    new RegExp(lastError === undefined ? reason : `${reason}; last error ${lastError}`),
    program.output(),
  );
}

/** Runs `node <script>` on this Node with the given environment added to ours. */
export function spawnNode(script: string, env: Record<string, string>): NodeProcess {
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let code: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (exitCode, signal) => {
      code = exitCode ?? signal ?? 'unknown';
      for (const listener of listeners) listener();
      resolve(code);
    });
  });
  return {
    child,
    exited,
    output: () => output,
    logLines: () =>
      output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    waitForOutput: (pattern, what = String(pattern)) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(output)) {
            listeners.delete(check);
            resolve();
          } else if (code !== undefined) {
            listeners.delete(check);
            reject(new Error(`exited (${code}) before ${what}; output:\n${output}`));
          }
        };
        listeners.add(check);
        check();
      }),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface TcpProxy {
  /** Starts accepting on the port: from now on the target is reachable there. */
  listen(): Promise<void>;
  close(): Promise<void>;
}

/** Forwards 127.0.0.1:`port` to `target`, once listen() was called. */
export function tcpProxy(port: number, target: { host: string; port: number }): TcpProxy {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  return {
    listen: () =>
      new Promise<void>((resolve, reject) => {
        server = createServer((client) => {
          const upstream = connect(target);
          for (const socket of [client, upstream]) {
            sockets.add(socket);
            socket.on('close', () => sockets.delete(socket));
            socket.on('error', () => {
              client.destroy();
              upstream.destroy();
            });
          }
          client.pipe(upstream).pipe(client);
        });
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        if (!server) {
          resolve();
          return;
        }
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** host and port of the first entry of a URL or a host:port list. */
export function hostPort(address: string): { host: string; port: number } {
  const match = /^(?:[a-z]+:\/\/(?:[^@/]*@)?)?([^:/,]+):(\d+)/.exec(address);
  if (!match) throw new Error(`no host:port in ${address}`);
  return { host: match[1] ?? '', port: Number(match[2]) };
}
