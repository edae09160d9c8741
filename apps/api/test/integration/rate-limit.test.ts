import assert from 'node:assert/strict';
import type { Options } from 'express-rate-limit';
import { fileURLToPath } from 'node:url';
import {
  createTestDatabase,
  freePort,
  spawnNode,
  testBrokers,
  type TestDatabase,
} from '@telemetrypulse/devstack/test';
import { PostgresRateLimitStore } from '../../src/http/rate-limit-store.ts';
import { logger, startTestApi, type TestApi } from '../support.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

describe('rate limit shared through PostgreSQL', () => {
  let db: TestDatabase;
  const apis: TestApi[] = [];
  const stores: PostgresRateLimitStore[] = [];

  function store(): PostgresRateLimitStore {
    const created = new PostgresRateLimitStore({ sql: db.sql, logger });
    stores.push(created);
    return created;
  }

  /** An API replica with its own store object on the shared database. */
  async function replica(
    perMinute: number,
    options: { perKey?: number; trustProxyHops?: number } = {},
  ): Promise<string> {
    const api = await startTestApi(
      {
        security: {
          rateLimitPerMinute: perMinute,
          rateLimitPerKeyPerMinute: options.perKey ?? 0,
          rateLimitStore: store(),
        },
        auth: { writeKeys: ['key-a', 'key-b'] },
        ...(options.trustProxyHops === undefined ? {} : { trustProxyHops: options.trustProxyHops }),
      },
      db,
    );
    apis.push(api);
    return api.url;
  }

  /** GET a read route as `from` (X-Forwarded-For), with `key` if given. */
  async function get(url: string, from: string, key?: string): Promise<Response> {
    return fetch(`${url}/api/v1/sites`, {
      headers: {
        'x-forwarded-for': from,
        ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      },
    });
  }

  const statusesOf = async (responses: Promise<Response>[]) => {
    const statuses: number[] = [];
    for (const response of responses) statuses.push((await response).status);
    return statuses;
  };

  beforeEach(async () => {
    db = await createTestDatabase();
  });

  afterEach(async () => {
    for (const s of stores.splice(0)) s.shutdown();
    for (const api of apis.splice(0)) await api.close();
    await db.drop();
  });

  it('when one client spreads its requests over two replicas, then both count against one limit', async () => {
    const [a, b] = [await replica(4), await replica(4)];
    const statuses: number[] = [];
    for (const url of [a, b, a, b, a, b]) {
      statuses.push((await fetch(`${url}/kpis/live`)).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);

    const limited = await fetch(`${b}/kpis/live`);
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.match(limited.headers.get('ratelimit') ?? '', /\br=0\b/);
    assert.equal(((await limited.json()) as { status: number }).status, 429);
    // Probes are never limited.
    assert.equal((await fetch(`${a}/health/ready`)).status, 200);
  });

  it('when no proxy is trusted (the default), then a new X-Forwarded-For on every request buys no fresh budget', async () => {
    const url = await replica(3);
    const statuses: number[] = [];
    for (const from of ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4']) {
      statuses.push((await get(url, from)).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
  });

  it('when the API runs as main.ts with no proxy setting, then X-Forwarded-For is ignored there too', async () => {
    const port = await freePort();
    const api = spawnNode(MAIN, {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: testBrokers(),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      RATE_LIMIT_PER_MINUTE: '3',
      LOG_LEVEL: 'info',
    });
    try {
      await api.waitForOutput(/"msg":"api listening"/, 'the API listening');
      const statuses: number[] = [];
      for (const from of ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4']) {
        statuses.push((await get(`http://127.0.0.1:${port}`, from)).status);
      }
      assert.deepEqual(statuses, [200, 200, 200, 429]);
    } finally {
      await api.kill();
    }
  });

  it('when one proxy is trusted (TRUST_PROXY_HOPS=1), then X-Forwarded-For names the client', async () => {
    const url = await replica(2, { trustProxyHops: 1 });
    const first = [get(url, '203.0.113.1'), get(url, '203.0.113.1'), get(url, '203.0.113.1')];
    assert.deepEqual(await statusesOf(first), [200, 200, 429]);
    // Another client behind the same proxy has its own budget.
    assert.equal((await get(url, '203.0.113.2')).status, 200);
    // Only the last hop counts: an address the client put before it is not believed.
    assert.equal((await get(url, '198.51.100.7, 203.0.113.1')).status, 429);
  });

  it('when a request carries an API key, then it counts against its key and its IP', async () => {
    const url = await replica(3, { perKey: 2, trustProxyHops: 1 });
    const [one, two] = ['203.0.113.1', '203.0.113.2'];
    // key-a: twice from one address, then from another: its key's limit (2) is spent.
    assert.deepEqual(
      await statusesOf([get(url, one, 'key-a'), get(url, one, 'key-a')]),
      [200, 200],
    );
    const keyLimited = await get(url, two, 'key-a');
    assert.equal(keyLimited.status, 429);
    assert.equal(((await keyLimited.json()) as { limit: string }).limit, 'key');
    // The address itself still has budget, with another key or none.
    assert.equal((await get(url, two, 'key-b')).status, 200);
    // The first address spent 2 of its 3 with key-a: one more request, with any key, and it is out.
    assert.equal((await get(url, one, 'key-b')).status, 200);
    const ipLimited = await get(url, one, 'key-b');
    assert.equal(ipLimited.status, 429);
    assert.equal(((await ipLimited.json()) as { limit: string }).limit, 'ip');
    assert.equal((await get(url, one)).status, 429);
  });

  it('when a limit is hit, then the 429 is problem+json with Retry-After and both RateLimit headers', async () => {
    const url = await replica(5, { perKey: 1, trustProxyHops: 1 });
    const ok = await get(url, '203.0.113.9', 'key-a');
    assert.equal(ok.status, 200);
    // Both limits, by name (draft-ietf-httpapi-ratelimit-headers-08).
    assert.match(ok.headers.get('ratelimit') ?? '', /^"ip"; r=4; t=\d+, "key"; r=0; t=\d+$/);
    assert.match(
      ok.headers.get('ratelimit-policy') ?? '',
      /^"ip"; q=5; w=60; pk=:[^:]+:, "key"; q=1; w=60; pk=:[^:]+:$/,
    );

    const limited = await get(url, '203.0.113.9', 'key-a');
    assert.equal(limited.status, 429);
    assert.match(limited.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `${retryAfter}`);
    assert.match(limited.headers.get('ratelimit') ?? '', /"key"; r=0; t=\d+/);
    const problem = (await limited.json()) as Record<string, unknown>;
    assert.equal(problem.type, 'https://telemetrypulse.io/problems/too-many-requests');
    assert.equal(problem.title, 'Too Many Requests');
    assert.equal(problem.status, 429);
    assert.equal(problem.limit, 'key');
    assert.equal(problem.detail, 'at most 1 requests per minute with one API key');
    assert.equal(typeof problem.request_id, 'string');
  });

  it('when only the key limit is on, then requests with a key are limited and those without are not', async () => {
    const url = await replica(0, { perKey: 2, trustProxyHops: 1 });
    const keyed = [get(url, '203.0.113.1', 'key-a'), get(url, '203.0.113.2', 'key-a')];
    assert.deepEqual(await statusesOf(keyed), [200, 200]);
    assert.equal((await get(url, '203.0.113.3', 'key-a')).status, 429);
    const anonymous = [1, 2, 3, 4].map(() => get(url, '203.0.113.1'));
    assert.deepEqual(await statusesOf(anonymous), [200, 200, 200, 200]);
  });

  it('when counts are kept in PostgreSQL, then key counters hold a digest, never the key', async () => {
    const url = await replica(5, { perKey: 5, trustProxyHops: 1 });
    assert.equal((await get(url, '203.0.113.5', 'key-a')).status, 200);
    const keys = (
      await db.sql<{ key: string }[]>`select key from api_rate_limits order by key`
    ).map((row) => row.key);
    assert.equal(keys.length, 2, keys.join(', '));
    assert.ok(
      keys.some((key) => key.endsWith('203.0.113.5')),
      keys.join(', '),
    );
    assert.ok(!keys.some((key) => key.includes('key-a')), keys.join(', '));
  });

  it('when replicas increment one key concurrently, then every hit is counted once', async () => {
    const [first, second] = [store(), store()];
    for (const s of [first, second]) s.init({ windowMs: 60_000 } as Options);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? first : second).increment('10.0.0.1')),
    );
    assert.deepEqual(
      results.map((r) => r.totalHits).sort((x, y) => x - y),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    assert.equal((await second.get('10.0.0.1'))?.totalHits, 40);
    assert.equal(await first.get('10.0.0.2'), undefined);
  });

  it('when the window has passed, then the count starts again and the old counter is swept', async () => {
    const s = store();
    s.init({ windowMs: 300 } as Options);
    await s.increment('10.0.0.3');
    assert.equal((await s.increment('10.0.0.3')).totalHits, 2);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(await s.get('10.0.0.3'), undefined);
    const fresh = await s.increment('10.0.0.3');
    assert.equal(fresh.totalHits, 1);
    assert.ok((fresh.resetTime?.getTime() ?? 0) > Date.now() - 1000);

    await s.increment('10.0.0.4');
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(await s.sweep(), 2);
  });

  it('when a request is undone or a key reset, then the count follows', async () => {
    const s = store();
    s.init({ windowMs: 60_000 } as Options);
    await s.increment('k');
    await s.increment('k');
    await s.decrement('k');
    assert.equal((await s.get('k'))?.totalHits, 1);
    await s.resetKey('k');
    assert.equal(await s.get('k'), undefined);
    await s.increment('other');
    await s.resetAll();
    assert.equal(await s.get('other'), undefined);
  });
});
