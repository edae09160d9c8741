// Thin wrappers over the `go` command: module downloads and builds from the Go module proxy.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { logTail } from '../child.ts';

export interface GoRunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Build output is appended here (long builds); without it, it is kept for the error. */
  logFile?: string;
}

/** Runs `go ARGS`; resolves with stdout, rejects with the tail of stderr (or of its log). */
export async function runGo(args: string[], options: GoRunOptions = {}): Promise<string> {
  const log = options.logFile ? openSync(options.logFile, 'a') : undefined;
  const child = spawn('go', args, {
    cwd: options.cwd,
    // -mod=mod lets builds in a throwaway module add what the build needs to its go.mod.
    env: { ...process.env, GOFLAGS: '-mod=mod', ...options.env },
    stdio: ['ignore', 'pipe', log ?? 'pipe'],
  });
  if (log !== undefined) closeSync(log);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (error) => {
      reject(new Error(`cannot run go (is Go installed and on PATH?): ${error.message}`));
    });
    child.once('close', resolve);
  });
  if (code !== 0) {
    const detail = options.logFile
      ? `end of ${options.logFile}:\n${logTail(options.logFile)}`
      : stderr.trim();
    throw new Error(`go ${args.join(' ')} failed (exit ${code ?? 'signal'}): ${detail}`);
  }
  return stdout;
}

export interface DownloadedModule {
  Path: string;
  Version: string;
  /** The extracted module in the module cache (read-only). */
  Dir: string;
  GoMod: string;
}

/** `go mod download -json MODULE@VERSION`: the module's source, cached by Go per machine. */
export async function downloadModule(module: string, version: string): Promise<DownloadedModule> {
  // Outside any module, so the caller's go.mod (if any) is not touched.
  const out = await runGo(['mod', 'download', '-json', `${module}@${version}`], {
    cwd: tmpdir(),
    env: { GOFLAGS: '', GO111MODULE: 'on' },
  });
  const info = JSON.parse(out) as DownloadedModule & { Error?: string };
  if (info.Error) throw new Error(`go mod download ${module}@${version}: ${info.Error}`);
  return info;
}

/** `-X pkg.name=value` flags for `go build -ldflags`. */
export function ldflagsSetting(values: Record<string, string>): string[] {
  return Object.entries(values).map(([name, value]) => `-X ${name}=${value}`);
}
