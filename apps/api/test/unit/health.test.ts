import assert from 'node:assert/strict';
import { createLogger, type Sql } from '@telemetrypulse/shared';
import { Registry } from 'prom-client';
import { createApp } from '../../src/app.ts';
import { within } from '../../src/routes/health.ts';
import { serve, type Served } from '../serve.ts';

// Stand-ins for a client whose database never answers, or whose driver fails outright.
const hangingSql = (() => new Promise(() => undefined)) as unknown as Sql;
const failingSql = (() => {
  throw new Error('password authentication failed for user "telemetry"');
}) as unknown as Sql;

describe('health and errors without a database', () => {
  let served: Served;

  afterEach(async () => {
    await served.close();
  });

  async function start(sql: Sql): Promise<string> {
    const logger = createLogger('api-test', 'silent');
    served = await serve(
      createApp({ sql, registry: new Registry(), logger, readinessTimeoutMs: 100 }),
    );
    return served.url;
  }

  it('when the database does not answer in time, then /health/ready says 503 not ready', async () => {
    const url = await start(hangingSql);
    const response = await fetch(`${url}/health/ready`);
    assert.equal(response.status, 503);
    assert.equal(((await response.json()) as { status: string }).status, 'not ready');
  });

  it('when the database is down, then liveness still says ok', async () => {
    const url = await start(hangingSql);
    const response = await fetch(`${url}/health/live`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });

  it('when a query fails, then the 500 problem hides the cause and carries the request id', async () => {
    const url = await start(failingSql);
    const response = await fetch(`${url}/kpis/live`, { headers: { 'x-request-id': 'req-500' } });
    assert.equal(response.status, 500);
    assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const body = await response.text();
    assert.doesNotMatch(body, /password|telemetry/);
    assert.deepEqual(JSON.parse(body), {
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      request_id: 'req-500',
    });
  });
});

describe('within', () => {
  it('when the promise settles first, then its value wins', async () => {
    assert.equal(await within(Promise.resolve(true), 1000, false), true);
  });

  it('when the promise outlives the limit, then the fallback wins', async () => {
    assert.equal(await within(new Promise<boolean>(() => undefined), 10, false), false);
  });
});
