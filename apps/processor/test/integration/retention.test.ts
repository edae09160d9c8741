import assert from 'node:assert/strict';
import { createLogger, type WindowTable } from '@telemetrypulse/shared';
import { createTestDatabase, type TestDatabase } from '@telemetrypulse/devstack/test';
import {
  applyRetention,
  RETENTION_LOCK_KEY,
  startRetention,
  type RetentionPolicy,
} from '../../src/ops/retention.ts';

const NOW = new Date('2024-03-10T10:00:00Z');
// Cut-offs at NOW: raw 2024-02-09, 5m 2023-12-11, 15m 2023-02-04.
const POLICY: RetentionPolicy = { rawDays: 30, agg5mDays: 90, agg15mDays: 400, deleteBatchRows: 3 };

async function partitions(db: TestDatabase): Promise<string[]> {
  const rows = await db.sql<{ name: string }[]>`
    select c.relname as name from pg_inherits i
    join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
    where p.relname = 'telemetry_events' order by 1`;
  return rows.map((r) => r.name);
}

/** Raw rows with their recorded ids, as the processor stores them. */
async function insertEvents(db: TestDatabase, times: readonly string[]): Promise<void> {
  for (const ts of times) {
    await db.sql`
      with id as (
        insert into telemetry_event_ids (event_id, ts_event) values (gen_random_uuid(), ${ts})
        returning event_id, ts_event
      )
      insert into telemetry_events (event_id, device_id, site_id, zone_id, sensor_type, value, ts_event)
      select event_id, 'dev-1', 'site-1', 'zone-1', 'co2', 500, ts_event from id`;
  }
}

async function insertWindows(
  db: TestDatabase,
  table: WindowTable,
  windows: readonly { zone: string; start: string }[],
): Promise<void> {
  for (const w of windows) {
    await db.sql`
      insert into ${db.sql(table)}
        (site_id, zone_id, sensor_type, window_start, count_events, sum_value, min_value, max_value)
      values ('site-1', ${w.zone}, 'co2', ${w.start}, 1, 500, 500, 500)`;
  }
}

async function windowStarts(db: TestDatabase, table: WindowTable): Promise<string[]> {
  const rows = await db.sql<{ start: Date }[]>`
    select window_start as start from ${db.sql(table)} order by window_start, zone_id`;
  return rows.map((r) => r.start.toISOString());
}

describe('retention (real PostgreSQL)', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  it('when raw retention has passed, then only the partitions of days entirely before the cut-off are dropped, with their rows', async () => {
    await db.sql`select telemetry_ensure_partitions('2024-02-05', '2024-02-12')`;
    const current = (await partitions(db)).filter((p) => p > 'telemetry_events_20240212');
    assert.ok(current.length > 0, 'the partitions of today exist');
    await insertEvents(db, [
      '2024-02-05T00:00:00Z',
      '2024-02-08T23:59:59.999Z',
      '2024-02-09T00:00:00Z',
      '2024-02-12T12:00:00Z',
      new Date().toISOString(),
    ]);

    const result = await applyRetention(db.sql, POLICY, NOW);

    assert.equal(result.cutoffs.raw, '2024-02-09');
    assert.equal(result.partitionsDropped, 4);
    assert.deepEqual(await partitions(db), [
      'telemetry_events_20240209',
      'telemetry_events_20240210',
      'telemetry_events_20240211',
      'telemetry_events_20240212',
      ...current,
    ]);
    const [oldest] = await db.sql<{ ts: Date; n: number }[]>`
      select min(ts_event) as ts, count(*)::int as n from telemetry_events`;
    assert.equal(oldest?.ts.toISOString(), '2024-02-09T00:00:00.000Z');
    assert.equal(oldest.n, 3);
    // The ids of the dropped days went with them; the rest still deduplicate.
    assert.equal(result.eventIdsDeleted, 2);
    const [ids] = await db.sql<{ ts: Date; n: number }[]>`
      select min(ts_event) as ts, count(*)::int as n from telemetry_event_ids`;
    assert.deepEqual([ids?.ts.toISOString(), ids?.n], ['2024-02-09T00:00:00.000Z', 3]);
  });

  it('when aggregates have passed their retention, then only windows of earlier days are deleted, all of them however many batches it takes, and alerts stay', async () => {
    const zones = Array.from({ length: 7 }, (_, i) => `zone-${i}`);
    await insertWindows(db, 'telemetry_agg_5m', [
      ...zones.map((zone) => ({ zone, start: '2023-12-10T23:55:00Z' })),
      { zone: 'zone-0', start: '2023-12-11T00:00:00Z' },
      { zone: 'zone-0', start: '2024-03-10T09:55:00Z' },
    ]);
    await insertWindows(db, 'telemetry_agg_15m', [
      { zone: 'zone-0', start: '2023-02-03T23:45:00Z' },
      { zone: 'zone-1', start: '2023-02-03T23:45:00Z' },
      { zone: 'zone-0', start: '2023-02-04T00:00:00Z' },
      // Older than the 5-minute retention, well within the 15-minute one.
      { zone: 'zone-0', start: '2023-12-10T23:45:00Z' },
    ]);
    await db.sql`
      insert into telemetry_alerts (site_id, zone_id, sensor_type, alert_type, status, threshold,
                                    value, peak_value, triggered_at, last_seen_at, resolved_at)
      values ('site-1', 'zone-0', 'co2', 'CO2_HIGH', 'resolved', 1000, 1200, 1300,
              '2020-01-01T00:00:00Z', '2020-01-01T00:10:00Z', '2020-01-01T00:20:00Z')`;

    const result = await applyRetention(db.sql, POLICY, NOW);

    assert.deepEqual(
      [result.cutoffs.agg5m, result.agg5mDeleted, result.cutoffs.agg15m, result.agg15mDeleted],
      ['2023-12-11', 7, '2023-02-04', 2],
    );
    assert.deepEqual(await windowStarts(db, 'telemetry_agg_5m'), [
      '2023-12-11T00:00:00.000Z',
      '2024-03-10T09:55:00.000Z',
    ]);
    assert.deepEqual(await windowStarts(db, 'telemetry_agg_15m'), [
      '2023-02-04T00:00:00.000Z',
      '2023-12-10T23:45:00.000Z',
    ]);
    const [alerts] = await db.sql<{ n: number }[]>`select count(*)::int as n from telemetry_alerts`;
    assert.equal(alerts?.n, 1);

    const again = await applyRetention(db.sql, POLICY, NOW);
    assert.deepEqual(
      [again.partitionsDropped, again.agg5mDeleted, again.agg15mDeleted, again.skipped],
      [0, 0, 0, false],
    );
  });

  it('when another replica is applying retention, then this one skips instead of racing it', async () => {
    await db.sql`select telemetry_ensure_partitions('2024-02-01', '2024-02-01')`;
    const other = await db.sql.reserve();
    try {
      await other`select pg_advisory_lock(${RETENTION_LOCK_KEY})`;
      const skipped = await applyRetention(db.sql, POLICY, NOW);
      assert.deepEqual([skipped.skipped, skipped.partitionsDropped], [true, 0]);
      await other`select pg_advisory_unlock(${RETENTION_LOCK_KEY})`;
    } finally {
      other.release();
    }
    const applied = await applyRetention(db.sql, POLICY, NOW);
    assert.deepEqual([applied.skipped, applied.partitionsDropped], [false, 1]);
  });

  it('when an old partition is in use, then the drop gives up after the lock timeout and the next run drops it', async () => {
    await db.sql`select telemetry_ensure_partitions('2024-02-01', '2024-02-01')`;
    const reader = await db.sql.reserve();
    try {
      await reader`begin`;
      await reader`select count(*) from telemetry_events_20240201`;
      await assert.rejects(
        applyRetention(db.sql, { ...POLICY, lockTimeoutMs: 200 }, NOW),
        /lock timeout/,
      );
      await reader`commit`;
    } finally {
      reader.release();
    }
    const applied = await applyRetention(db.sql, POLICY, NOW);
    assert.deepEqual([applied.skipped, applied.partitionsDropped], [false, 1]);
  });

  it('when retention is started, then it applies at once and stop waits for that run', async () => {
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString().slice(0, 10);
    await db.sql`select telemetry_ensure_partitions(${old}::date, ${old}::date)`;
    const before = await partitions(db);
    assert.ok(before.includes(`telemetry_events_${old.replaceAll('-', '')}`));

    const schedule = startRetention(db.sql, POLICY, createLogger('test', 'silent'));
    await schedule.stop();

    assert.deepEqual(
      await partitions(db),
      before.filter((p) => p !== `telemetry_events_${old.replaceAll('-', '')}`),
    );
  });
});
