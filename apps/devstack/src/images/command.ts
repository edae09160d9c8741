// Runs the programs image builds use (buildah, mmdebstrap, npm, tar, ctr): stdout is returned,
// long output goes to a log file, and a failure carries the tail of what the program said.
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';

export interface CommandOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** stdout and stderr are appended here too (long builds); the error then names the file. */
  logFile?: string;
}

export async function runCommand(
  command: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<string> {
  const { logFile } = options;
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-6000);
    if (logFile) appendFileSync(logFile, chunk);
  };
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    keep(chunk);
  });
  child.stderr.on('data', keep);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (error) => {
      reject(new Error(`cannot run ${command}: ${error.message}`));
    });
    child.once('close', resolve);
  });
  if (code !== 0) {
    const where = logFile ? ` (full output: ${logFile})` : '';
    throw new Error(
      `${command} ${args.join(' ')} failed (exit ${code ?? 'signal'})${where}:\n${tail.trim()}`,
    );
  }
  return stdout;
}
