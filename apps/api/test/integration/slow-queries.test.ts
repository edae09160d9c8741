import assert from 'node:assert/strict';
import { HOUR_MS, createSql, type Sql } from '@telemetrypulse/shared';
import { Registry } from 'prom-client';
import { createTestDatabase, type TestDatabase } from '@telemetrypulse/devstack/test';
import { createApi, type AppOptions } from '../../src/app.ts';
import { withStatementTimeout } from '../../src/queries/statement-timeout.ts';
import { seedAggregates, seedAlerts, seedRawEvents } from '../../bench/seed.ts';
import { serve, type Served } from '../serve.ts';
import { logger, problemOf } from '../support.ts';

/** Raw readings of the last hour: what /api/v1/sites counts zones and devices from. */
const RECENT_EVENTS = 600_000;
/** Far below what counting them takes, far above what a lookup by key takes. */
const STATEMENT_TIMEOUT_MS = 150;
const POOL_SIZE = 2;
const BURST = 24;

interface RunningApi {
  url: string;
  sql: Sql;
  readinessSql: Sql;
  close(): Promise<void>;
}

/** The API as main.ts wires it: a small pool with the statement timeout, readiness apart. */
async function startApi(
  db: TestDatabase,
  name: string,
  statementTimeoutMs: number,
  options: Partial<AppOptions> = {},
): Promise<RunningApi> {
  const url = withStatementTimeout(db.url, statementTimeoutMs);
  const sql = createSql({ url, poolSize: POOL_SIZE, logger, applicationName: name });
  const readinessSql = createSql({ url, poolSize: 1, logger, applicationName: `${name}-ready` });
  const served: Served = await serve(
    createApi({ sql, readinessSql, registry: new Registry(), logger, ...options }).app,
  );
  return {
    url: served.url,
    sql,
    readinessSql,
    close: async () => {
      await served.close();
      await sql.end({ timeout: 1 });
      await readinessSql.end({ timeout: 1 });
    },
  };
}

describe('slow queries', function () {
  // Seeding 600,000 raw rows takes a while on a busy machine.
  this.timeout(300_000);
  let db: TestDatabase;
  let alertId: number;

  before(async () => {
    db = await createTestDatabase();
    const now = Date.now();
    await seedRawEvents(db.sql, RECENT_EVENTS, HOUR_MS / 86_400_000 / 1.2, now);
    await seedAggregates(db.sql);
    await seedAlerts(db.sql, 100, 1, now);
    await db.sql`vacuum analyze`;
    const [alert] = await db.sql<{ alert_id: number }[]>`select min(alert_id) as alert_id
      from telemetry_alerts`;
    alertId = alert?.alert_id ?? 0;
  });

  after(() => db.drop());

  describe(`with a statement timeout of ${STATEMENT_TIMEOUT_MS} ms and a pool of ${POOL_SIZE}`, () => {
    let api: RunningApi;

    before(async () => {
      api = await startApi(db, 'api-slow-queries', STATEMENT_TIMEOUT_MS);
    });

    after(() => api.close());

    it('when the site list takes longer than the timeout, then it answers 503 problem+json with Retry-After, not 500', async () => {
      const response = await fetch(`${api.url}/api/v1/sites`);
      assert.equal(response.status, 503);
      assert.ok(Number(response.headers.get('retry-after')) > 0);
      const problem = await problemOf(response);
      assert.equal(problem.status, 503);
      assert.match(String(problem.detail), /took too long/);
    });

    it('when a burst of the most expensive uncached reads fills the pool, then readiness stays green and other routes answer', async () => {
      const expensive = ['/api/v1/sites', '/api/v1/sites/site-01', '/api/v1/sites/site-02'];
      const burst = Array.from({ length: BURST }, (_, i) =>
        fetch(`${api.url}${expensive[i % expensive.length] ?? ''}`),
      );
      // While the burst holds (or queues for) every pooled connection:
      const ready = await fetch(`${api.url}/health/ready`);
      const alert = await fetch(`${api.url}/api/v1/alerts/${alertId}`);
      const answers = await Promise.all(burst);

      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), {
        status: 'ready',
        checks: { database: 'up', kafka: 'disabled' },
      });
      assert.equal(alert.status, 200);
      assert.equal(((await alert.json()) as { alert_id: number }).alert_id, alertId);
      // Every expensive read was cut by the timeout and said so; none failed otherwise.
      assert.deepEqual(
        answers.map((a) => a.status),
        answers.map(() => 503),
      );
      for (const answer of answers) assert.ok(Number(answer.headers.get('retry-after')) > 0);
    });
  });

  describe('when a request ends while its query waits for a lock', () => {
    let locker: Sql;
    let released: (() => void) | undefined;
    let transaction: Promise<unknown> | undefined;

    before(() => {
      locker = createSql({ url: db.url, poolSize: 1, logger, applicationName: 'locker' });
    });

    afterEach(async () => {
      released?.();
      await transaction;
    });

    after(() => locker.end({ timeout: 1 }));

    /** Holds the alerts table, as a migration might: reads of it wait for as long as it does. */
    async function holdAlertsTable(): Promise<void> {
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      released = release;
      let locked: () => void = () => undefined;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      transaction = locker.begin(async (tx) => {
        await tx`lock table telemetry_alerts in access exclusive mode`;
        locked();
        await held;
      });
      await isLocked;
    }

    async function until(what: string, check: () => Promise<boolean>): Promise<void> {
      const deadline = Date.now() + 20_000;
      while (!(await check())) {
        if (Date.now() > deadline) assert.fail(`gave up waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }

    async function activeQueries(applicationName: string): Promise<number> {
      const [row] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
        where application_name = ${applicationName} and state = 'active'`;
      return row?.n ?? 0;
    }

    it('when the request times out, then its query is cancelled, not left holding a connection', async () => {
      // No statement timeout: only the request's end can stop its query.
      const api = await startApi(db, 'api-request-timeout', 0, { requestTimeoutMs: 300 });
      try {
        await holdAlertsTable();
        const response = await fetch(`${api.url}/alerts/recent`);
        assert.equal(response.status, 503);
        assert.equal(
          (await problemOf(response)).type,
          'https://telemetrypulse.io/problems/timeout',
        );
        // The lock is still held: a query not cancelled would wait for as long as it is.
        await until('the waiting query to be cancelled', async () => {
          return (await activeQueries('api-request-timeout')) === 0;
        });
      } finally {
        await api.close();
      }
    });

    it('when the client goes away, then its query is cancelled', async () => {
      const api = await startApi(db, 'api-client-gone', 0);
      try {
        await holdAlertsTable();
        const client = new AbortController();
        const request = fetch(`${api.url}/alerts?limit=5`, { signal: client.signal });
        await until('the query to wait for the lock', async () => {
          return (await activeQueries('api-client-gone')) === 1;
        });
        client.abort();
        await assert.rejects(request);
        await until('the waiting query to be cancelled', async () => {
          return (await activeQueries('api-client-gone')) === 0;
        });
      } finally {
        await api.close();
      }
    });
  });
});
