// Readiness on the shared ops server (processor, operator, simulators) turns 503 from SIGTERM on,
// while the app still finishes its in-flight work and stays alive for its liveness probe.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePorts, waitFor } from '@telemetrypulse/devstack/test';

const APP = fileURLToPath(new URL('../fixtures/ops-app.ts', import.meta.url));

describe('ops server drain on SIGTERM (child process)', () => {
  it('when SIGTERM arrives, then /readyz answers 503 "shutting down" and /livez 200 until the work is done, and the app exits 0', async () => {
    const [port = 0] = await freePorts(1);
    const app = spawn(process.execPath, [APP], {
      env: { ...process.env, HTTP_PORT: String(port) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    app.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    app.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => app.once('exit', resolve));
    try {
      const url = (path: string) => `http://127.0.0.1:${port}${path}`;
      await waitFor(
        'the ops server',
        () => Promise.resolve(output.includes('ops server listening')),
        30_000,
      );
      const ready = await fetch(url('/readyz'));
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: 'ready' });

      app.kill('SIGTERM');
      await waitFor(
        'the shutdown to begin',
        () => Promise.resolve(output.includes('shutting down')),
        30_000,
      );
      const draining = await fetch(url('/readyz'));
      assert.equal(draining.status, 503);
      assert.deepEqual(await draining.json(), { status: 'not ready', reason: 'shutting down' });
      assert.equal((await fetch(url('/livez'))).status, 200);

      app.stdin.end();
      assert.equal(await exited, 0, output);
    } finally {
      app.kill('SIGKILL');
    }
  });
});
