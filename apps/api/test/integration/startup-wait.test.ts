// The API on a fresh cluster: started before PostgreSQL accepts connections, it waits (one log
// line per attempt) instead of exiting, and serves once the database is there. The database
// "comes up" when a proxy in front of the suite's real PostgreSQL starts listening.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import {
  assertGaveUp,
  assertStopsCleanly,
  createTestDatabase,
  freePorts,
  hostPort,
  type NodeProcess,
  spawnNode,
  tcpProxy,
  type TcpProxy,
  type TestDatabase,
} from '@telemetrypulse/devstack/test';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

describe('API startup waits for PostgreSQL (child process)', () => {
  let db: TestDatabase;
  let api: NodeProcess | undefined;
  let proxy: TcpProxy | undefined;
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await api?.kill();
    await proxy?.close();
    await db.drop();
  });

  /** The API pointed at `dbPort` on loopback, where nothing listens yet. */
  function startApi(dbPort: number, httpPort: number, env: Record<string, string> = {}) {
    const url = new URL(db.url);
    url.hostname = '127.0.0.1';
    url.port = String(dbPort);
    return spawnNode(MAIN, {
      DATABASE_URL: url.toString(),
      KAFKA_BROKERS: process.env.TEST_KAFKA_BROKERS ?? '',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      LOG_LEVEL: 'info',
      API_KEYS: 'test-key',
      ...env,
    });
  }

  it('when PostgreSQL comes up after the API started, then it waits, logging each attempt, and then serves /health/ready', async () => {
    const [dbPort = 0, httpPort = 0] = await freePorts(2);
    proxy = tcpProxy(dbPort, hostPort(db.url));
    api = startApi(dbPort, httpPort, { STARTUP_WAIT_SECONDS: '600' });
    await api.waitForOutput(/"attempt":2,"code":"ECONNREFUSED"/, 'a second refused attempt');

    await proxy.listen();
    await api.waitForOutput(/"msg":"api listening"/);
    const ready = await fetch(`http://127.0.0.1:${httpPort}/health/ready`);
    assert.equal(ready.status, 200);

    const lines = api.logLines();
    const waiting = lines.filter((l) => String(l.msg).startsWith('waiting for PostgreSQL'));
    assert.ok(waiting.length >= 2);
    assert.deepEqual(
      waiting.map((l) => [l.dependency, l.target, l.attempt, l.code]),
      waiting.map((_l, i) => [
        'PostgreSQL',
        `127.0.0.1:${dbPort}${new URL(db.url).pathname}`,
        i + 1,
        'ECONNREFUSED',
      ]),
    );
    assert.ok(
      lines.some(
        (l) => l.msg === `PostgreSQL at 127.0.0.1:${dbPort}${new URL(db.url).pathname} is up`,
      ),
    );

    await assertStopsCleanly(api);
  });

  it('when SIGTERM arrives while it waits, then it stops promptly and exits 0', async () => {
    const [dbPort = 0, httpPort = 0] = await freePorts(2);
    api = startApi(dbPort, httpPort, { STARTUP_WAIT_SECONDS: '600' });
    await assertStopsCleanly(api, /waiting for PostgreSQL/);
    assert.match(api.output(), /"msg":"stopped"/);
  });

  it('when PostgreSQL does not come within STARTUP_WAIT_SECONDS, then it exits 1 with a clear message', async () => {
    const [dbPort = 0, httpPort = 0] = await freePorts(2);
    api = startApi(dbPort, httpPort, { STARTUP_WAIT_SECONDS: '1' });
    await assertGaveUp(api, 'PostgreSQL', `127\\.0\\.0\\.1:${dbPort}/\\w+`, 'connect ECONNREFUSED');
  });
});
