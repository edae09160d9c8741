// The API's drain on SIGTERM (child process): readiness turns 503 at once, and a client holding
// kept-alive connections gets its next requests answered, each ending its connection, before the
// process exits 0. In a pod the chart's preStop wait has already taken it out of the Service.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import {
  createTestDatabase,
  freePorts,
  type NodeProcess,
  spawnNode,
  type TestDatabase,
} from '@telemetrypulse/devstack/test';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

interface Answer {
  status: number;
  connection: string | undefined;
  body: Record<string, unknown>;
  localPort: number | undefined;
}

function get(agent: Agent, url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          connection: res.headers.connection,
          body: JSON.parse(body) as Record<string, unknown>,
          localPort: req.socket?.localPort,
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('API drain on SIGTERM (child process)', () => {
  let db: TestDatabase;
  let api: NodeProcess | undefined;
  let agent: Agent | undefined;
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    agent?.destroy();
    await api?.kill();
    await db.drop();
  });

  it('when SIGTERM arrives, then a new live stream is refused, /readyz and /health/ready answer 503 "shutting down" on the kept-alive connections, each closing its connection, and the API exits 0', async () => {
    const [httpPort = 0] = await freePorts(1);
    api = spawnNode(MAIN, {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: process.env.TEST_KAFKA_BROKERS ?? '',
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      LOG_LEVEL: 'info',
      API_KEYS: 'test-key',
      // The drain outlasts the test: the API exits only because the client's connections ended.
      SHUTDOWN_DRAIN_MS: '60000',
      SHUTDOWN_TIMEOUT_MS: '120000',
    });
    await api.waitForOutput(/"msg":"api listening"/);
    const base = `http://127.0.0.1:${httpPort}`;
    agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const client = agent;
    // Two connections kept alive, as a client sending continuously holds them.
    const before = await Promise.all([get(client, `${base}/readyz`), get(client, `${base}/livez`)]);
    assert.deepEqual(
      before.map((a) => [a.status, a.connection]),
      [
        [200, 'keep-alive'],
        [200, 'keep-alive'],
      ],
    );
    assert.equal(before[0].body.status, 'ready');

    api.child.kill('SIGTERM');
    await api.waitForOutput(/"msg":"shutting down"/);
    // A new live stream would end at once: refused, to be opened on another pod.
    const live = await fetch(`${base}/api/v1/live`);
    assert.equal(live.status, 503);
    assert.equal(live.headers.get('retry-after'), '1');
    assert.match(live.headers.get('content-type') ?? '', /problem\+json/);
    await live.body?.cancel();
    const during = await Promise.all([
      get(client, `${base}/readyz`),
      get(client, `${base}/health/ready`),
    ]);
    for (const answer of during) {
      assert.equal(answer.status, 503);
      assert.equal(answer.body.status, 'not ready');
      assert.equal(answer.body.reason, 'shutting down');
      assert.equal(answer.connection, 'close');
    }
    assert.deepEqual(
      during.map((a) => a.localPort).sort(),
      before.map((a) => a.localPort).sort(),
      'the kept-alive connections were used again',
    );
    assert.equal(await api.exited, 0, api.output());
    assert.match(api.output(), /"msg":"stopped"/);
  });
});
