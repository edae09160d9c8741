import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { createResponseCache } from '../../src/http/response-cache.ts';
import { etagMatches, jsonBody, type JsonBody } from '../../src/http/json-body.ts';

/** The body's text, for comparing answers. */
const text = async (answer: Promise<JsonBody>): Promise<string> => (await answer).body.toString();

describe('response cache', () => {
  it('when a key is asked for twice within the TTL, then it is computed once', async () => {
    let clock = 0;
    let calls = 0;
    const cache = createResponseCache({ ttlMs: 1000, now: () => clock });
    const compute = () => Promise.resolve({ n: ++calls });
    assert.equal(await text(cache.json('a', compute)), '{"n":1}');
    clock = 999;
    assert.equal(await text(cache.json('a', compute)), '{"n":1}');
    clock = 1000;
    assert.equal(await text(cache.json('a', compute)), '{"n":2}');
  });

  it('when requests for a key overlap, then they share one computation', async () => {
    let calls = 0;
    const cache = createResponseCache({ ttlMs: 1000 });
    const compute = async () => {
      calls += 1;
      await new Promise((r) => setTimeout(r, 10));
      return [calls];
    };
    const bodies = await Promise.all([1, 2, 3].map(() => text(cache.json('k', compute))));
    assert.deepEqual(bodies, ['[1]', '[1]', '[1]']);
    assert.equal(calls, 1);
  });

  it('when a computation fails, then the failure is not cached', async () => {
    const cache = createResponseCache({ ttlMs: 1000 });
    await assert.rejects(cache.json('k', () => Promise.reject(new Error('db down'))));
    assert.equal(await text(cache.json('k', () => Promise.resolve(1))), '1');
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
    assert.equal(await text(cache.json('a', compute)), '{"n":1}');
    clock = 1500;
    // Expired: the old answer comes back without waiting, and only one refresh starts.
    assert.equal(await text(cache.json('a', compute)), '{"n":1}');
    assert.equal(await text(cache.json('a', compute)), '{"n":1}');
    assert.equal(calls, 2);
    release();
    await new Promise((r) => setImmediate(r));
    assert.equal(await text(cache.json('a', compute)), '{"n":2}');
    // The refreshed answer ages from when its query started.
    clock = 2499;
    assert.equal(await text(cache.json('a', compute)), '{"n":2}');
  });

  it('when an answer expired longer than staleMs ago, then the request waits for a fresh one', async () => {
    let clock = 0;
    let calls = 0;
    const cache = createResponseCache({ ttlMs: 1000, staleMs: 500, now: () => clock });
    const compute = () => Promise.resolve({ n: ++calls });
    await cache.json('a', compute);
    clock = 1500;
    assert.equal(await text(cache.json('a', compute)), '{"n":2}');
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
    assert.equal(await text(cache.json('a', compute)), '{"n":1}');
    await new Promise((r) => setImmediate(r));
    fail = false;
    assert.equal(await text(cache.json('a', compute)), '{"n":1}');
    await new Promise((r) => setImmediate(r));
    assert.equal(await text(cache.json('a', compute)), '{"n":3}');
  });
});

describe('response cache with a longer TTL for a key', () => {
  it('when a key is asked for with a longer TTL, then it is computed once within that TTL', async () => {
    let clock = 0;
    let calls = 0;
    const cache = createResponseCache({ ttlMs: 1000, now: () => clock });
    const compute = () => Promise.resolve({ n: ++calls });
    assert.equal(await text(cache.json('a', compute, 10_000)), '{"n":1}');
    clock = 9999;
    assert.equal(await text(cache.json('a', compute, 10_000)), '{"n":1}');
    clock = 10_000;
    assert.equal(await text(cache.json('a', compute, 10_000)), '{"n":2}');
  });

  it('when a key is asked for with a shorter TTL than the cache, then the cache TTL holds', async () => {
    let clock = 0;
    let calls = 0;
    const cache = createResponseCache({ ttlMs: 1000, now: () => clock });
    const compute = () => Promise.resolve({ n: ++calls });
    await cache.json('a', compute, 10);
    clock = 999;
    assert.equal(await text(cache.json('a', compute, 10)), '{"n":1}');
  });

  it('when caching is off, then a longer TTL for a key does not turn it on', async () => {
    let calls = 0;
    const cache = createResponseCache({ ttlMs: 0 });
    await cache.json('k', () => Promise.resolve(++calls), 10_000);
    await cache.json('k', () => Promise.resolve(++calls), 10_000);
    assert.equal(calls, 2);
  });

  it('when a long-lived answer is refreshed, then the fresh one is kept for the longer TTL', async () => {
    let clock = 0;
    let calls = 0;
    const cache = createResponseCache({ ttlMs: 1000, staleMs: 1000, now: () => clock });
    const compute = () => Promise.resolve({ n: ++calls });
    await cache.json('a', compute, 10_000);
    clock = 10_500;
    assert.equal(await text(cache.json('a', compute, 10_000)), '{"n":1}');
    await new Promise((r) => setImmediate(r));
    clock = 20_499;
    assert.equal(await text(cache.json('a', compute, 10_000)), '{"n":2}');
  });
});

describe('serialized answers', () => {
  it('when a value is serialized, then its body is the JSON bytes and its tag a weak tag of them', () => {
    const { body, etag } = jsonBody({ name: 'zoné', n: [1.5, 2] });
    assert.equal(body.toString(), '{"name":"zoné","n":[1.5,2]}');
    // As express's default tag: weak, byte length in hex, then 27 characters of base64 SHA-1.
    assert.match(etag, new RegExp(`^W/"${body.length.toString(16)}-[A-Za-z0-9+/]{27}"$`));
  });

  it('when equal values are serialized, then their tags are equal; when values differ, then tags differ', () => {
    assert.equal(jsonBody({ a: 1 }).etag, jsonBody({ a: 1 }).etag);
    assert.notEqual(jsonBody({ a: 1 }).etag, jsonBody({ a: 2 }).etag);
  });

  it('when a cached answer is served again, then it is the same bytes and tag', async () => {
    const cache = createResponseCache({ ttlMs: 1000 });
    const compute = () => Promise.resolve({ a: 1 });
    const first = await cache.json('k', compute);
    const second = await cache.json('k', compute);
    assert.equal(second.body, first.body);
    assert.equal(second.etag, first.etag);
  });

  it('when answers may be gzipped, then the copy decodes to the body and is made once per answer', async () => {
    const cache = createResponseCache({ ttlMs: 1000, gzip: true });
    const compute = () => Promise.resolve({ points: Array.from({ length: 100 }, (_, i) => i) });
    const answer = await cache.json('k', compute);
    const copy = await answer.gzipped?.();
    assert.ok(copy);
    assert.deepEqual(gunzipSync(copy), answer.body);
    assert.equal(await (await cache.json('k', compute)).gzipped?.(), copy);
    const plain = await createResponseCache({ ttlMs: 1000 }).json('k', compute);
    assert.equal(plain.gzipped, undefined);
  });

  it('when an answer is refreshed to the same bytes, then the answer served so far is kept with its gzip copy', async () => {
    let clock = 0;
    let n = 0;
    const cache = createResponseCache({ ttlMs: 1000, staleMs: 1000, gzip: true, now: () => clock });
    const compute = () => Promise.resolve({ n: n++ < 2 ? 1 : 2 });
    const first = await cache.json('k', compute);
    clock = 1500;
    await cache.json('k', compute);
    await new Promise((r) => setImmediate(r));
    assert.equal(await cache.json('k', compute), first);
    clock = 3000;
    await cache.json('k', compute);
    await new Promise((r) => setImmediate(r));
    assert.notEqual((await cache.json('k', compute)).etag, first.etag);
  });
});

describe('If-None-Match', () => {
  const tag = 'W/"1a-abc"';

  it('when the header names the tag, weak or strong, alone or in a list, then it matches', () => {
    assert.ok(etagMatches('W/"1a-abc"', tag));
    assert.ok(etagMatches('"1a-abc"', tag));
    assert.ok(etagMatches('"other", W/"1a-abc"', tag));
    assert.ok(etagMatches(' * ', tag));
  });

  it('when the header is absent or names other tags, then it does not match', () => {
    assert.equal(etagMatches(undefined, tag), false);
    assert.equal(etagMatches('', tag), false);
    assert.equal(etagMatches('W/"1a-abd", "x"', tag), false);
  });
});
