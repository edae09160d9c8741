import assert from 'node:assert/strict';
import { createResponseCache } from '../../src/cache.ts';

describe('response cache', () => {
  it('when a key is asked for twice within the TTL, then it is computed once', async () => {
    let clock = 0;
    let calls = 0;
    const cache = createResponseCache({ ttlMs: 1000, now: () => clock });
    const compute = () => Promise.resolve({ n: ++calls });
    assert.equal(await cache.json('a', compute), '{"n":1}');
    clock = 999;
    assert.equal(await cache.json('a', compute), '{"n":1}');
    clock = 1000;
    assert.equal(await cache.json('a', compute), '{"n":2}');
  });

  it('when requests for a key overlap, then they share one computation', async () => {
    let calls = 0;
    const cache = createResponseCache({ ttlMs: 1000 });
    const compute = async () => {
      calls += 1;
      await new Promise((r) => setTimeout(r, 10));
      return [calls];
    };
    const bodies = await Promise.all([1, 2, 3].map(() => cache.json('k', compute)));
    assert.deepEqual(bodies, ['[1]', '[1]', '[1]']);
    assert.equal(calls, 1);
  });

  it('when a computation fails, then the failure is not cached', async () => {
    const cache = createResponseCache({ ttlMs: 1000 });
    await assert.rejects(cache.json('k', () => Promise.reject(new Error('db down'))));
    assert.equal(await cache.json('k', () => Promise.resolve(1)), '1');
  });

  it('when the TTL is 0, then nothing is cached', async () => {
    let calls = 0;
    const cache = createResponseCache({ ttlMs: 0 });
    await cache.json('k', () => Promise.resolve(++calls));
    await cache.json('k', () => Promise.resolve(++calls));
    assert.equal(calls, 2);
  });

  it('when more keys than allowed are cached, then the oldest go', async () => {
    let calls = 0;
    const cache = createResponseCache({ ttlMs: 1000, maxEntries: 2 });
    const compute = () => Promise.resolve(++calls);
    for (const key of ['a', 'b', 'c']) await cache.json(key, compute);
    await cache.json('a', compute);
    assert.equal(calls, 4);
  });
});

describe('response cache serving stale answers while refreshing', () => {
  it('when an answer expired within staleMs, then it is served at once and refreshed once in the background', async () => {
    let clock = 0;
    let calls = 0;
    let release: () => void = () => undefined;
    const cache = createResponseCache({ ttlMs: 1000, staleMs: 1000, now: () => clock });
    const compute = async () => {
      calls += 1;
      if (calls > 1) await new Promise<void>((r) => (release = r));
      return { n: calls };
    };
    assert.equal(await cache.json('a', compute), '{"n":1}');
    clock = 1500;
    // Expired: the old answer comes back without waiting, and only one refresh starts.
    assert.equal(await cache.json('a', compute), '{"n":1}');
    assert.equal(await cache.json('a', compute), '{"n":1}');
    assert.equal(calls, 2);
    release();
    await new Promise((r) => setImmediate(r));
    assert.equal(await cache.json('a', compute), '{"n":2}');
    // The refreshed answer ages from when its query started.
    clock = 2499;
    assert.equal(await cache.json('a', compute), '{"n":2}');
  });

  it('when an answer expired longer than staleMs ago, then the request waits for a fresh one', async () => {
    let clock = 0;
    let calls = 0;
    const cache = createResponseCache({ ttlMs: 1000, staleMs: 500, now: () => clock });
    const compute = () => Promise.resolve({ n: ++calls });
    await cache.json('a', compute);
    clock = 1500;
    assert.equal(await cache.json('a', compute), '{"n":2}');
  });

  it('when a background refresh fails, then the stale answer stays and the next request retries', async () => {
    let clock = 0;
    let fail = false;
    let calls = 0;
    const cache = createResponseCache({ ttlMs: 1000, staleMs: 1000, now: () => clock });
    const compute = () => {
      calls += 1;
      return fail ? Promise.reject(new Error('down')) : Promise.resolve({ n: calls });
    };
    await cache.json('a', compute);
    clock = 1200;
    fail = true;
    assert.equal(await cache.json('a', compute), '{"n":1}');
    await new Promise((r) => setImmediate(r));
    fail = false;
    assert.equal(await cache.json('a', compute), '{"n":1}');
    await new Promise((r) => setImmediate(r));
    assert.equal(await cache.json('a', compute), '{"n":3}');
  });
});
