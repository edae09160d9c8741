import assert from 'node:assert/strict';
import { createSql, type Sql } from '@telemetrypulse/shared';
import { Registry } from 'prom-client';
import { createTestDatabase, freePort, type TestDatabase } from '@telemetrypulse/devstack/test';
import { createApp } from '../../src/app.ts';
import { serve, type Served } from '../serve.ts';
import { insertWindows, logger, problemOf, window } from '../support.ts';

// A pinned clock, so "recent" windows are fixed timestamps.
const NOW = Date.parse('2025-06-01T12:07:30Z');

describe('api on a real PostgreSQL', () => {
  let db: TestDatabase;
  let served: Served;
  // Undone in reverse, and only what was set up: a failed before() must not hide its cause.
  const teardown: (() => Promise<void>)[] = [];

  before(async () => {
    db = await createTestDatabase();
    teardown.unshift(() => db.drop());
    const app = createApp({ sql: db.sql, registry: new Registry(), logger, now: () => NOW });
    served = await serve(app);
    teardown.unshift(() => served.close());
  });

  after(async () => {
    for (const step of teardown.splice(0)) await step();
  });

  describe('GET /kpis/live', () => {
    it('when no window exists, then the list is empty', async () => {
      const response = await fetch(`${served.url}/kpis/live`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), []);
    });

    describe('with windows of two sites', () => {
      before(async () => {
        await insertWindows(db.sql, [
          window('site-01/zone-01/co2', '2025-06-01T11:55:00Z', [2, 900, 420, 480]),
          window('site-01/zone-01/co2', '2025-06-01T12:00:00Z', [3, 1500, 450, 560]),
          window('site-01/zone-01/co2', '2025-06-01T12:05:00Z', [4, 2200, 500, 640]),
          window('site-01/zone-01/temperature', '2025-06-01T12:00:00Z', [2, 43, 21, 22]),
          window('site-01/zone-02/co2', '2025-06-01T11:50:00Z', [1, 700, 700, 700]),
          window('site-01/zone-02/co2', '2025-06-01T12:05:00Z', [2, 1300, 600, 700]),
          window('site-02/zone-01/humidity', '2025-06-01T12:00:00Z', [5, 250, 40, 60]),
          window('site-02/zone-01/humidity', '2025-06-01T12:05:00Z', [4, 180, 41, 49]),
          // Silent for hours: no longer live.
          window('site-02/zone-09/co2', '2025-06-01T08:00:00Z', [3, 1200, 390, 410]),
        ]);
      });

      it('when no site is given, then each series shows its latest window with the compat field names', async () => {
        const response = await fetch(`${served.url}/kpis/live`);
        assert.equal(response.status, 200);
        assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
        assert.deepEqual(await response.json(), [
          {
            site_id: 'site-01',
            zone_id: 'zone-01',
            sensor_type: 'co2',
            current_avg: 550,
            current_max: 640,
            sample_count: 4,
            last_updated: '2025-06-01T12:10:00.000Z',
          },
          {
            site_id: 'site-01',
            zone_id: 'zone-01',
            sensor_type: 'temperature',
            current_avg: 21.5,
            current_max: 22,
            sample_count: 2,
            last_updated: '2025-06-01T12:05:00.000Z',
          },
          {
            site_id: 'site-01',
            zone_id: 'zone-02',
            sensor_type: 'co2',
            current_avg: 650,
            current_max: 700,
            sample_count: 2,
            last_updated: '2025-06-01T12:10:00.000Z',
          },
          {
            site_id: 'site-02',
            zone_id: 'zone-01',
            sensor_type: 'humidity',
            current_avg: 45,
            current_max: 49,
            sample_count: 4,
            last_updated: '2025-06-01T12:10:00.000Z',
          },
        ]);
      });

      it('when site_id is given, then only that site is listed', async () => {
        const response = await fetch(`${served.url}/kpis/live?site_id=site-02`);
        assert.equal(response.status, 200);
        const kpis = (await response.json()) as { site_id: string; zone_id: string }[];
        assert.deepEqual(
          kpis.map((k) => `${k.site_id}/${k.zone_id}`),
          ['site-02/zone-01'],
        );
      });

      it('when the site is unknown, then the list is empty', async () => {
        const response = await fetch(`${served.url}/kpis/live?site_id=site-99`);
        assert.equal(response.status, 200);
        assert.deepEqual(await response.json(), []);
      });
    });

    it('when site_id is malformed, then a 400 problem names the parameter', async () => {
      const response = await fetch(
        `${served.url}/kpis/live?site_id=${encodeURIComponent("x' or 1=1")}`,
      );
      assert.equal(response.status, 400);
      const problem = await problemOf(response);
      assert.equal(problem.status, 400);
      assert.equal(problem.parameter, 'site_id');
      assert.equal(typeof problem.type, 'string');
      assert.equal(typeof problem.title, 'string');
      assert.equal(typeof problem.detail, 'string');
    });

    it('when an unknown parameter is given, then a 400 problem names it', async () => {
      const response = await fetch(`${served.url}/kpis/live?zone=zone-01`);
      assert.equal(response.status, 400);
      assert.equal((await problemOf(response)).parameter, 'zone');
    });
  });

  describe('GET /livez, /readyz and the original /health routes', () => {
    for (const [path, body] of [
      ['/livez', { status: 'ok' }],
      ['/readyz', { status: 'ready', checks: { database: 'up', kafka: 'disabled' } }],
      ['/health', { status: 'ok' }],
      ['/health/live', { status: 'ok' }],
      ['/health/ready', { status: 'ready', checks: { database: 'up', kafka: 'disabled' } }],
    ] as const) {
      it(`when the database answers, then ${path} is 200 ${JSON.stringify(body)}`, async () => {
        const response = await fetch(`${served.url}${path}`);
        assert.equal(response.status, 200);
        assert.deepEqual(await response.json(), body);
      });
    }
  });

  describe('request ids, metrics and unknown routes', () => {
    it('when the caller sends x-request-id, then the response echoes it', async () => {
      const response = await fetch(`${served.url}/health`, {
        headers: { 'x-request-id': 'trace-42' },
      });
      assert.equal(response.headers.get('x-request-id'), 'trace-42');
    });

    it('when the caller sends no x-request-id, then the response carries a generated one', async () => {
      const response = await fetch(`${served.url}/health`);
      assert.match(response.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    });

    it('when a route is unknown, then the answer is a 404 problem', async () => {
      const response = await fetch(`${served.url}/no/such/route`);
      assert.equal(response.status, 404);
      const problem = await problemOf(response);
      assert.equal(problem.status, 404);
      assert.equal(problem.title, 'Not Found');
    });

    it('when /metrics is scraped, then the request histogram is labelled by route template', async () => {
      await fetch(`${served.url}/kpis/live`);
      await fetch(`${served.url}/no/such/route`);
      const response = await fetch(`${served.url}/metrics`);
      assert.equal(response.status, 200);
      const text = await response.text();
      assert.match(text, /# TYPE http_request_duration_seconds histogram/);
      assert.match(text, /# TYPE http_requests_in_flight gauge/);
      assert.match(
        text,
        /http_request_duration_seconds_count\{method="GET",route="\/kpis\/live",status_code="200"\} \d+/,
      );
      assert.match(text, /route="<unmatched>",status_code="404"/);
      assert.doesNotMatch(text, /no\/such\/route/);
    });
  });
});

describe('api when PostgreSQL is unreachable', () => {
  let sql: Sql;
  let served: Served;

  before(async () => {
    // Nothing listens on a port just released by the OS.
    const url = `postgres://telemetry:telemetry@127.0.0.1:${await freePort()}/telemetry`;
    sql = createSql({ url, poolSize: 1, logger, applicationName: 'api-test' });
    served = await serve(createApp({ sql, registry: new Registry(), logger }));
  });

  after(async () => {
    await served.close();
    await sql.end({ timeout: 0 });
  });

  it('when readiness is probed, then it answers 503 not ready', async () => {
    const response = await fetch(`${served.url}/health/ready`);
    assert.equal(response.status, 503);
    assert.equal(((await response.json()) as { status: string }).status, 'not ready');
  });

  it('when liveness is probed, then it still answers 200', async () => {
    const response = await fetch(`${served.url}/health/live`);
    assert.equal(response.status, 200);
  });

  it('when live KPIs are asked for, then the answer is a 500 problem without internals', async () => {
    const response = await fetch(`${served.url}/kpis/live`);
    assert.equal(response.status, 500);
    const problem = await problemOf(response);
    assert.equal(problem.title, 'Internal Server Error');
    assert.equal(problem.detail, undefined);
  });
});
