import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createLogger,
  DEFAULT_MIGRATIONS_DIR,
  ensurePartitions,
  migrate,
  MigrationError,
} from '@telemetrypulse/shared';
import { createTestDatabase, type TestDatabase } from '@telemetrypulse/devstack/test';

const logger = createLogger('test', 'silent');

describe('migrations (real PostgreSQL)', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  it('when run again, then nothing is applied twice', async () => {
    const again = await migrate(db.sql, DEFAULT_MIGRATIONS_DIR, logger);
    assert.deepEqual(again, []);
    const rows = await db.sql`select version from schema_migrations order by version`;
    assert.ok(rows.length >= 1);
  });

  it('when several processes migrate at once, then each migration is applied exactly once', async () => {
    // Back to an empty database, whatever the migrations have created by now.
    await db.sql`drop schema public cascade`;
    await db.sql`create schema public`;
    const results = await Promise.all(
      [1, 2, 3].map(() => migrate(db.sql, DEFAULT_MIGRATIONS_DIR, logger)),
    );
    const applied = results.flat();
    assert.deepEqual(new Set(applied).size, applied.length);
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from schema_migrations`;
    assert.equal(row?.n, applied.length);
  });

  it('when an applied migration file was edited, then migrate fails loudly', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'migrations-'));
    cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    appendFileSync(path.join(dir, '0001_init.sql'), '\n-- edited\n');
    await assert.rejects(migrate(db.sql, dir, logger), MigrationError);
  });

  it('when partitions are ensured, then every day from the oldest accepted event to two days ahead has one', async () => {
    const now = Date.parse('2026-06-15T12:00:00Z');
    await ensurePartitions(db.sql, 3 * 86_400_000, 2, now);
    const parts = await db.sql<{ name: string }[]>`
      select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'telemetry_events'::regclass and c.relname like 'telemetry_events_202606%'
      order by 1`;
    assert.deepEqual(
      parts.map((p) => p.name),
      ['12', '13', '14', '15', '16', '17'].map((d) => `telemetry_events_202606${d}`),
    );
    await db.sql`insert into telemetry_events (event_id, device_id, site_id, zone_id, sensor_type, value, ts_event)
      values (gen_random_uuid(), 'd', 's', 'z', 'co2', 500, '2026-06-17T23:59:59Z')`;
    const [dropped] = await db.sql<
      { n: number }[]
    >`select telemetry_drop_partitions('2026-06-14') as n`;
    assert.ok((dropped?.n ?? 0) >= 2);
  });
});
