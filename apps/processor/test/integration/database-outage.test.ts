// The database goes away mid-stream: the processor retries with backoff, commits nothing while it
// is gone, and catches up exactly once when it is back.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import {
  createTestTopics,
  freePort,
  groupCaughtUp,
  migratedSql,
  type PostgresServer,
  produceEvents,
  rawCounts,
  startPostgresServer,
  syntheticEvents,
  type TestDatabase,
  waitUntil,
  windowMismatches,
} from '@telemetrypulse/devstack/test';
import { startConsumerOnly } from '../support.ts';

describe('processor when PostgreSQL stops and comes back (real Kafka + a PostgreSQL of its own)', () => {
  let dir: string;
  let server: PostgresServer | undefined;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-outage-'));
    chmodSync(dir, 0o755);
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when the database is down mid-stream, then nothing is committed until it returns, and then every event is stored once', async () => {
    const port = await freePort();
    const dataDir = path.join(dir, 'pg');
    server = await startPostgresServer({ dataDir, port });
    const sql = await migratedSql(server.url, 'outage-test');
    const db = { url: server.url, sql } as unknown as TestDatabase;
    const topics = await createTestTopics(3);
    const group = `g-${randomUUID()}`;
    const registry = new Registry();
    const processor = await startConsumerOnly({
      sql,
      registry,
      topics,
      groupId: group,
      sessionTimeoutMs: 6000,
    });
    try {
      const events = syntheticEvents(6_000, 'site-o');
      await produceEvents(topics.events, events.slice(0, 3_000));
      await waitUntil('the first half stored', async () => (await rawCounts(db)).rows === 3_000);
      await waitUntil('the first half committed', () => groupCaughtUp(group, topics.events));

      await server.stop();
      await produceEvents(topics.events, events.slice(3_000));
      const retries = async () =>
        (await registry.getSingleMetric('telemetry_processor_store_retries_total')?.get())
          ?.values[0]?.value ?? 0;
      await waitUntil('the processor to retry', async () => (await retries()) >= 2);
      assert.equal(
        await groupCaughtUp(group, topics.events),
        false,
        'nothing committed while the database is down',
      );
      assert.equal(processor.isRunning(), true, 'still in its group, heartbeating');

      server = await startPostgresServer({ dataDir, port });
      await waitUntil('the group caught up', () => groupCaughtUp(group, topics.events), 90_000);
      assert.deepEqual(await rawCounts(db), { rows: 6_000, distinct: 6_000 });
      assert.deepEqual(await windowMismatches(db), []);
    } finally {
      await processor.stop();
      await sql.end();
    }
  });
});
