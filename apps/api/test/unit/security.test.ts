import assert from 'node:assert/strict';
import { createLogger, type Sql } from '@telemetrypulse/shared';
import { Registry } from 'prom-client';
import { createApp, type AppOptions } from '../../src/app.ts';
import { credentialFrom } from '../../src/http/auth.ts';
import { PostgresRateLimitStore } from '../../src/http/rate-limit-store.ts';
import { serve, type Served } from '../serve.ts';

// A database that answers every query with no rows, or never answers.
const emptySql = (() => Promise.resolve([])) as unknown as Sql;
const hangingSql = (() => new Promise(() => undefined)) as unknown as Sql;

describe('security layers', () => {
  let served: Served | undefined;

  afterEach(async () => {
    await served?.close();
    served = undefined;
  });

  async function start(options: Partial<AppOptions> = {}): Promise<string> {
    const logger = createLogger('api-test', 'silent');
    served = await serve(
      createApp({ sql: emptySql, registry: new Registry(), logger, ...options }),
    );
    return served.url;
  }

  it('when any route answers, then security headers are set and x-powered-by is not', async () => {
    const url = await start();
    const response = await fetch(`${url}/health`);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.equal(response.headers.get('x-powered-by'), null);
  });

  it('when CORS origins are configured, then a listed origin is allowed and others are not', async () => {
    const url = await start({ security: { corsOrigins: ['https://dash.example.com'] } });
    const allowed = await fetch(`${url}/kpis/live`, {
      headers: { origin: 'https://dash.example.com' },
    });
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://dash.example.com');
    const preflight = await fetch(`${url}/api/v1/events`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://dash.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    const other = await fetch(`${url}/kpis/live`, { headers: { origin: 'https://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  it('when no CORS origin is configured, then no CORS header is sent', async () => {
    const url = await start();
    const response = await fetch(`${url}/kpis/live`, { headers: { origin: 'https://a.example' } });
    assert.equal(response.headers.get('access-control-allow-origin'), null);
  });

  it('when a client exceeds the rate limit, then 429 problem with Retry-After; probes are exempt', async () => {
    const url = await start({ security: { rateLimitPerMinute: 3 } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${url}/kpis/live`)).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const limited = await fetch(`${url}/kpis/live`);
    // Seconds until the client's window ends.
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.match(limited.headers.get('content-type') ?? '', /problem\+json/);
    assert.equal(((await limited.json()) as { status: number }).status, 429);
    assert.equal((await fetch(`${url}/health/live`)).status, 200);
  });

  it('when the shared rate limit store does not answer, then requests pass unlimited', async () => {
    const store = new PostgresRateLimitStore({
      sql: hangingSql,
      logger: createLogger('api-test', 'silent'),
      timeoutMs: 50,
    });
    const url = await start({ security: { rateLimitPerMinute: 1, rateLimitStore: store } });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await fetch(`${url}/health`)).status, 200);
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await fetch(`${url}/openapi.json`)).status);
      assert.deepEqual(statuses, [200, 200, 200]);
    } finally {
      store.shutdown();
    }
  });

  it('when a body exceeds the limit, then 413 problem', async () => {
    const url = await start({ bodyLimitBytes: 1024, auth: { writeKeys: ['k'] } });
    const response = await fetch(`${url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
      body: JSON.stringify({ pad: 'x'.repeat(2000) }),
    });
    assert.equal(response.status, 413);
    assert.match(response.headers.get('content-type') ?? '', /problem\+json/);
  });

  it('when a request outlives the timeout, then 503 problem with Retry-After', async () => {
    const url = await start({ sql: hangingSql, requestTimeoutMs: 100 });
    const response = await fetch(`${url}/kpis/live`);
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '5');
    const problem = (await response.json()) as { detail: string };
    assert.match(problem.detail, /longer than 100 ms/);
  });

  describe('when reads need a key (READ_AUTH=key)', () => {
    const auth = { writeKeys: ['writer'], readKeys: ['reader'], readAuth: 'key' as const };

    it('then a read without a key is 401, with a read or write key 200', async () => {
      const url = await start({ auth });
      assert.equal((await fetch(`${url}/kpis/live`)).status, 401);
      for (const key of ['reader', 'writer']) {
        const response = await fetch(`${url}/kpis/live`, { headers: { 'x-api-key': key } });
        assert.equal(response.status, 200);
      }
    });

    it('then probes, metrics and the API document stay open', async () => {
      const url = await start({ auth });
      for (const path of ['/health', '/health/live', '/metrics', '/openapi.json']) {
        assert.equal((await fetch(`${url}${path}`)).status, 200, path);
      }
    });
  });

  it('when no write key is configured, then writes are refused with 401', async () => {
    const url = await start();
    const response = await fetch(`${url}/api/v1/alerts/1/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer anything' },
      body: '{"by":"x"}',
    });
    assert.equal(response.status, 401);
  });
});

describe('credentials', () => {
  it('when a bearer token or an X-API-Key is sent, then it is the credential', () => {
    assert.equal(credentialFrom({ authorization: 'Bearer abc' }), 'abc');
    assert.equal(credentialFrom({ authorization: 'bearer  abc ' }), 'abc');
    assert.equal(credentialFrom({ 'x-api-key': 'def' }), 'def');
  });

  it('when the header is of another scheme or empty, then there is no credential', () => {
    assert.equal(credentialFrom({ authorization: 'Basic abc' }), undefined);
    assert.equal(credentialFrom({ 'x-api-key': '' }), undefined);
    assert.equal(credentialFrom({ 'x-api-key': ['a', 'b'] }), undefined);
  });
});
