import assert from 'node:assert/strict';
import { DEFAULT_ALERT_RULES, HOUR_MS } from '@telemetrypulse/shared';
import {
  createTestDatabase,
  syntheticEvents,
  type TestDatabase,
} from '@telemetrypulse/devstack/test';
import { applyRetention, storeBatch } from '@telemetrypulse/processor/testing';
import { insertWindows, window } from '../support.ts';

/** Hourly rows that differ from a roll-up of the 15-minute windows, both ways. */
async function hourMismatches(db: TestDatabase): Promise<unknown[]> {
  const rows = await db.sql`
    with recomputed as (
      select site_id, zone_id, sensor_type,
             date_bin('1 hour', window_start, timestamptz '1970-01-01 00:00:00+00') as window_start,
             sum(count_events)::bigint as count_events, sum(sum_value) as sum_value,
             min(min_value) as min_value, max(max_value) as max_value
      from telemetry_agg_15m group by 1, 2, 3, 4
    ), stored as (
      select site_id, zone_id, sensor_type, window_start, count_events, sum_value, min_value, max_value
      from telemetry_agg_1h
    )
    (select 'missing or wrong' as problem, * from (table recomputed except table stored) a)
    union all
    (select 'not backed by windows' as problem, * from (table stored except table recomputed) b)`;
  return [...rows];
}

describe('hourly rollup of the 15-minute windows', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase();
  });

  afterEach(async () => {
    await db.drop();
  });

  it('when replicas store overlapping batches concurrently, and some again, then every hour equals its windows', async () => {
    // Six writers over the same sites, zones, sensors and hours, in shuffled batches: the hourly
    // rows are contended exactly as the windows are, and no writer may deadlock or lose a count.
    const events = [
      ...syntheticEvents(3000, 'site-01', 3 * HOUR_MS),
      ...syntheticEvents(3000, 'site-02', 3 * HOUR_MS),
    ].sort(() => Math.random() - 0.5);
    const batches = Array.from({ length: 60 }, (_, i) => events.slice(i * 100, i * 100 + 100));
    const writers = Array.from({ length: 6 }, async (_, w) => {
      for (const batch of batches.filter((_, i) => i % 6 === w)) {
        await storeBatch(db.sql, batch, DEFAULT_ALERT_RULES);
      }
    });
    await Promise.all(writers);
    // Redelivery: stored again, counted once.
    await Promise.all(batches.slice(0, 6).map((b) => storeBatch(db.sql, b, DEFAULT_ALERT_RULES)));

    assert.deepEqual(await hourMismatches(db), []);
    const [total] = await db.sql<{ n: number }[]>`
      select sum(count_events)::int as n from telemetry_agg_1h`;
    assert.equal(total?.n, events.length);
  });

  it('when windows are written and updated directly, then their hour follows (count, sum, min, max)', async () => {
    await insertWindows(
      db.sql,
      [
        window('site-03/zone-01/co2', '2026-01-05T10:00:00Z', [2, 900, 400, 500]),
        window('site-03/zone-01/co2', '2026-01-05T10:45:00Z', [1, 1200, 1200, 1200]),
      ],
      '15m',
    );
    await db.sql`
      update telemetry_agg_15m set count_events = count_events + 1, sum_value = sum_value + 300,
        min_value = least(min_value, 300)
      where site_id = 'site-03' and window_start = '2026-01-05T10:00:00Z'`;
    const [hour] = await db.sql<
      { count_events: number; sum_value: number; min_value: number; max_value: number }[]
    >`select count_events, sum_value, min_value, max_value from telemetry_agg_1h
      where site_id = 'site-03'`;
    assert.deepEqual(hour, { count_events: 4, sum_value: 2400, min_value: 300, max_value: 1200 });
    assert.deepEqual(await hourMismatches(db), []);
  });

  it('when retention deletes old windows, then their hours go too', async () => {
    const old = new Date(Date.now() - 500 * 24 * HOUR_MS);
    old.setUTCHours(6, 0, 0, 0);
    await insertWindows(
      db.sql,
      [
        window('site-04/zone-01/co2', old.toISOString(), [1, 500, 500, 500]),
        window(
          'site-04/zone-01/co2',
          new Date().toISOString().slice(0, 13) + ':00:00Z',
          [1, 600, 600, 600],
        ),
      ],
      '15m',
    );
    await applyRetention(db.sql, { rawDays: 30, agg5mDays: 90, agg15mDays: 400 });
    const hours = await db.sql<{ window_start: Date }[]>`
      select window_start from telemetry_agg_1h where site_id = 'site-04'`;
    assert.equal(hours.length, 1);
    assert.ok((hours[0]?.window_start.getTime() ?? 0) > Date.now() - 2 * HOUR_MS);
    assert.deepEqual(await hourMismatches(db), []);
  });
});
