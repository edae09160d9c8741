import assert from 'node:assert/strict';
import type { Options } from 'express-rate-limit';
import { createTestDatabase, type TestDatabase } from '@telemetrypulse/devstack/test';
import { PostgresRateLimitStore } from '../../src/http/rate-limit-store.ts';
import { logger, startTestApi, type TestApi } from '../support.ts';

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
  async function replica(perMinute: number): Promise<string> {
    const api = await startTestApi(
      { security: { rateLimitPerMinute: perMinute, rateLimitStore: store() } },
      db,
    );
    apis.push(api);
    return api.url;
  }

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
