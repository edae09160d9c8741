// docs/walkthrough.md is a newcomer's first hour: clone, `make up`, change a CO2 threshold, see
// the alert it opens, undo it, `make down`. This runs the page's shell blocks, in order and as
// written, in a fresh clone inside a private (0700) folder, so the page cannot drift from the code.
// It needs the default local ports (the page curls localhost:8000): stop a running `make up` first.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../src/paths.ts';
import { isListening } from '../../src/ports.ts';
import { removeDataDir } from '../../src/postgres-reach.ts';
import { readStackSettings, StackEnv } from '../../src/stack/settings.ts';

const run = promisify(execFile);
const PAGE = path.join(REPO_ROOT, 'docs', 'walkthrough.md');

/** The page's `sh` blocks, in order. */
function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '');
}

/**
 * The environment a newcomer's shell has: none of the stack's own settings (the suite's brokers
 * and ports must not leak into `make up`), no npm run-script variables, and no PATH entry into
 * this checkout's node_modules, so the clone uses only what it installs itself.
 */
function newcomerEnv(repo: string): NodeJS.ProcessEnv {
  const stackVariables = new Set([...Object.keys(StackEnv.properties), 'TELEMETRYPULSE_LOCAL_DIR']);
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (stackVariables.has(name) || name.startsWith('npm_') || name.startsWith('TEST_')) continue;
    if (name === 'INIT_CWD') continue;
    env[name] = value;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((entry) => !entry.includes('node_modules'))
    .join(path.delimiter);
  env.REPO = repo;
  return env;
}

describe('the first-hour walkthrough (docs/walkthrough.md)', function () {
  this.timeout(20 * 60_000);
  let home: string | undefined;
  let clone: string | undefined;
  let output = '';
  let exitCode: number | null = null;
  let child: ReturnType<typeof spawn> | undefined;

  before(async function () {
    // Ports of a default `make up`: the stack's defaults, one simulator port per example site.
    const defaults = readStackSettings({});
    const ports = [
      defaults.API_PORT,
      defaults.KAFKA_PORT,
      defaults.KAFKA_CONTROLLER_PORT,
      defaults.POSTGRES_PORT,
      defaults.PROCESSOR_METRICS_PORT,
      ...[0, 1, 2].map((site) => defaults.SIMULATOR_METRICS_PORT + site),
    ];
    const busy: number[] = [];
    for (const port of ports) {
      if (await isListening(port)) busy.push(port);
    }
    assert.deepEqual(
      busy,
      [],
      `the walkthrough uses the default local ports, and ${busy.join(', ')} are taken: ` +
        'stop a running `make up` (make down) and run the tests again',
    );
    home = mkdtempSync(path.join(tmpdir(), 'tp-walkthrough-'));
    clone = path.join(home, 'telemetrypulse');
  });

  after(async () => {
    if (child && exitCode === null) process.kill(-(child.pid ?? 0), 'SIGTERM');
    if (clone && existsSync(path.join(clone, 'Makefile'))) {
      // Whatever step failed, leave no process and no data behind.
      await run('make', ['down'], { cwd: clone, env: newcomerEnv(REPO_ROOT) }).catch(() => {});
      removeDataDir(path.join(clone, '.local', 'postgres'));
    }
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('runs as written, from a clone in a private folder', async () => {
    const [privateDir, repo] = [home, clone];
    assert.ok(privateDir && repo, 'the folders are made before the test');
    const blocks = shellBlocks(readFileSync(PAGE, 'utf8'));
    assert.ok(blocks.length >= 5, `expected the page's shell blocks, found ${blocks.length}`);
    const script = blocks.join('\n');

    // chmod after mkdtemp: a home directory as root's is, which the postgres user cannot enter.
    await run('chmod', ['0700', privateDir]);
    child = spawn('bash', ['-euxo', 'pipefail', '-c', script], {
      cwd: privateDir,
      env: newcomerEnv(REPO_ROOT),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exitCode = await new Promise<number>((resolve) => {
      child?.on('exit', (code, signal) => {
        resolve(code ?? (signal ? 128 : 1));
      });
    });

    const tail = output.slice(-6000);
    assert.equal(exitCode, 0, `the walkthrough failed; its output ends with:\n${tail}`);
    assert.match(output, /TelemetryPulse is up/, tail);
    assert.match(
      output,
      /"alert_type":"CO2_HIGH"[^}]*"threshold":350/,
      `no CO2_HIGH alert with the new threshold in:\n${tail}`,
    );
    assert.match(output, /sites applied from .*specs changed site-01/, tail);
    assert.equal(statSync(privateDir).mode & 0o777, 0o700, 'the private folder stays private');
    assert.ok(
      !existsSync(path.join(repo, '.local', 'stack.pid')),
      'make down leaves no stack running',
    );
  });
});
