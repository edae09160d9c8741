// The operator with a sites registry (DATABASE_URL) on a fresh cluster: started before
// PostgreSQL accepts connections, it waits (alive on /livez, not ready, one log line per
// attempt) instead of exiting; SIGTERM during the wait exits 0, the bound exits 1. The wait comes
// before the operator talks to Kubernetes, so a kubeconfig naming no real server is enough.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  assertGaveUp,
  assertStopsCleanly,
  freePorts,
  type NodeProcess,
  spawnNode,
} from '@telemetrypulse/devstack/test';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
  - name: none
    cluster: { server: 'https://127.0.0.1:1' }
users:
  - name: none
    user: { token: not-used }
contexts:
  - name: none
    context: { cluster: none, user: none }
current-context: none
`;

describe('operator startup waits for its registry database (child process)', () => {
  let dir: string;
  let operator: NodeProcess | undefined;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'operator-startup-'));
    writeFileSync(path.join(dir, 'kubeconfig'), KUBECONFIG);
  });
  afterEach(async () => {
    await operator?.kill();
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function start(dbPort: number, httpPort: number, env: Record<string, string>): NodeProcess {
    return spawnNode(MAIN, {
      KUBECONFIG: path.join(dir, 'kubeconfig'),
      DATABASE_URL: `postgres://telemetry:telemetry@127.0.0.1:${dbPort}/telemetry`,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      LOG_LEVEL: 'info',
      LEADER_ELECTION: 'false',
      ...env,
    });
  }

  it('when SIGTERM arrives while it waits, then it was alive and not ready meanwhile, and exits 0', async () => {
    const [dbPort = 0, httpPort = 0] = await freePorts(2);
    operator = start(dbPort, httpPort, { STARTUP_WAIT_SECONDS: '600' });
    await operator.waitForOutput(/"attempt":2,"code":"ECONNREFUSED"/, 'a second refused attempt');
    assert.equal((await fetch(`http://127.0.0.1:${httpPort}/livez`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status, 503);
    const [first] = operator.logLines().filter((l) => l.level === 'warn');
    assert.ok(first);
    assert.deepEqual(
      [first.dependency, first.target, first.attempt, first.code],
      ['PostgreSQL', `127.0.0.1:${dbPort}/telemetry`, 1, 'ECONNREFUSED'],
    );

    await assertStopsCleanly(operator);
    assert.doesNotMatch(operator.output(), /"level":"fatal"/);
  });

  it('when PostgreSQL does not come within STARTUP_WAIT_SECONDS, then it exits 1 with a clear message', async () => {
    const [dbPort = 0, httpPort = 0] = await freePorts(2);
    operator = start(dbPort, httpPort, { STARTUP_WAIT_SECONDS: '1' });
    await assertGaveUp(
      operator,
      'PostgreSQL',
      `127\\.0\\.0\\.1:${dbPort}/telemetry`,
      'connect ECONNREFUSED',
    );
  });
});
