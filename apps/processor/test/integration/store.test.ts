// The batch store on a real PostgreSQL: what goes in comes back exactly, and copies of an event,
// within a batch or across batches, are stored and counted once.
import assert from 'node:assert/strict';
import { DEFAULT_ALERT_RULES, type SensorType, type TelemetryEvent } from '@telemetrypulse/shared';
import {
  createTestDatabase,
  rawCounts,
  telemetryEvent,
  type TestDatabase,
  windowMismatches,
} from '@telemetrypulse/devstack/test';
import { storeBatch } from '../../src/ingest/store.ts';

/** A temperature reading of site-st, this suite's site. */
const event = (overrides: Partial<TelemetryEvent> = {}): TelemetryEvent =>
  telemetryEvent({ site_id: 'site-st', sensor_type: 'temperature', value: 21.5, ...overrides });

describe('batch store (real PostgreSQL)', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  it('when a batch holds unusual but valid values, then every column reads back exactly', async () => {
    const events = [
      event({ zone_id: 'NULL', value: 0.1 }),
      event({ device_id: 'site.st:zone_01-dev-02', value: -12.345678901234567 }),
      event({ sensor_type: 'co2', value: 5e-324 }),
      event({ sensor_type: 'occupancy', value: 0 }),
    ];
    await storeBatch(db.sql, events, DEFAULT_ALERT_RULES);

    const rows = await db.sql<TelemetryEvent[]>`
      select event_id::text, device_id, site_id, zone_id, sensor_type, value,
             to_char(ts_event at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as ts_event
      from telemetry_events`;
    const byId = new Map(rows.map((r) => [r.event_id, { ...r }]));
    assert.deepEqual(
      events.map((e) => byId.get(e.event_id)),
      events,
    );
  });

  it('when an event comes twice in one batch and again in the next, then it is stored and counted once', async () => {
    const repeated = event({ sensor_type: 'co2', value: 1500 });
    const other = event({ value: 22 });

    const first = await storeBatch(db.sql, [repeated, other, { ...repeated }], DEFAULT_ALERT_RULES);
    assert.equal(first.stored.length, 2);
    assert.equal(first.duplicates, 1);
    // The copy that was kept still reaches the alert rules: its incident opens once.
    assert.deepEqual(
      first.incidents.map((i) => [i.alertType, i.eventCount]),
      [['CO2_HIGH', 1]],
    );

    const second = await storeBatch(db.sql, [{ ...repeated }], DEFAULT_ALERT_RULES);
    assert.deepEqual([second.stored.length, second.duplicates, second.incidents], [0, 1, []]);

    assert.deepEqual(await rawCounts(db), { rows: 2, distinct: 2 });
    assert.deepEqual(await windowMismatches(db), []);
    const [alerts] = await db.sql<{ n: number; count: number }[]>`
      select count(*)::int as n, sum(event_count)::int as count from telemetry_alerts`;
    assert.deepEqual(alerts, { n: 1, count: 1 });
  });

  it('when a batch mixes new events with ones stored before, then only the new ones are stored and counted', async () => {
    const before = [event({ value: 20 }), event({ value: 21 })];
    await storeBatch(db.sql, before, DEFAULT_ALERT_RULES);
    const fresh = [event({ value: 22 }), event({ value: 23 })];
    const mixed = [fresh[0], { ...before[1] }, fresh[1], { ...before[0] }] as TelemetryEvent[];

    const result = await storeBatch(db.sql, mixed, DEFAULT_ALERT_RULES);
    assert.deepEqual(
      result.stored.map((e) => e.value),
      [22, 23],
    );
    assert.equal(result.duplicates, 2);
    assert.deepEqual(await rawCounts(db), { rows: 4, distinct: 4 });
    assert.deepEqual(await windowMismatches(db), []);
  });

  it('when an event is resent with another ts_event (the server filled it in afresh), then it is stored and counted once, at its first time', async () => {
    const first = event({ ts_event: new Date(Date.now() - 60_000).toISOString(), value: 20 });
    const resent = { ...first, ts_event: new Date().toISOString() };
    const other = event({ value: 22 });

    await storeBatch(db.sql, [first], DEFAULT_ALERT_RULES);
    const again = await storeBatch(db.sql, [other, resent], DEFAULT_ALERT_RULES);
    // Both times in one batch: the first one listed is kept.
    const twin = event({ value: 24 });
    const both = await storeBatch(
      db.sql,
      [twin, { ...twin, ts_event: new Date(Date.now() - 1_000).toISOString() }],
      DEFAULT_ALERT_RULES,
    );

    assert.deepEqual(
      [again.stored, again.duplicates, both.stored, both.duplicates],
      [[other], 1, [twin], 1],
    );
    const rows = await db.sql<{ event_id: string; ts_event: Date }[]>`
      select event_id::text, ts_event from telemetry_events where event_id = ${first.event_id}`;
    assert.deepEqual(
      rows.map((r) => r.ts_event.toISOString()),
      [first.ts_event],
    );
    assert.deepEqual(await rawCounts(db), { rows: 3, distinct: 3 });
    assert.deepEqual(await windowMismatches(db), []);
  });

  it('when two writers store overlapping batches at the same time, then every event is stored and counted once', async () => {
    const events = Array.from({ length: 400 }, (_, i) => event({ value: 15 + (i % 100) / 10 }));
    const results = await Promise.all([
      storeBatch(db.sql, events.slice(0, 300), DEFAULT_ALERT_RULES),
      storeBatch(db.sql, events.slice(100), DEFAULT_ALERT_RULES),
    ]);
    assert.equal(
      results.reduce((n, r) => n + r.stored.length, 0),
      400,
    );
    assert.deepEqual(await rawCounts(db), { rows: 400, distinct: 400 });
    assert.deepEqual(await windowMismatches(db), []);
  });

  it('when batches span hours and revisit them, then every hourly window equals its raw rows (written once, not also by the trigger)', async () => {
    const hour = 3_600_000;
    const base = Math.floor(Date.now() / hour) * hour - 3 * hour;
    const at = (ms: number) => new Date(base + ms).toISOString();
    await storeBatch(
      db.sql,
      [event({ ts_event: at(10), value: 20 }), event({ ts_event: at(hour + 10), value: 23 })],
      DEFAULT_ALERT_RULES,
    );
    await storeBatch(
      db.sql,
      [
        event({ ts_event: at(50 * 60_000), value: 19 }),
        event({ ts_event: at(2 * hour), value: 25 }),
      ],
      DEFAULT_ALERT_RULES,
    );
    const hours = await db.sql<{ count: number }[]>`
      select count_events::int as count from telemetry_agg_1h order by window_start`;
    assert.deepEqual(
      hours.map((h) => h.count),
      [2, 1, 1],
    );
    assert.deepEqual(await windowMismatches(db), []);
  });

  it('when readings are spelled every way a float can be, then each window holds the numeric sum PostgreSQL computes from its rows, digit for digit', async () => {
    const minute = 60_000;
    const base = Math.floor(Date.now() / (5 * minute)) * 5 * minute - 60 * minute;
    const at = (ms: number) => new Date(base + ms).toISOString();
    // Readings within the sensors' ranges, one window's mix per zone: short decimals, 16 and 17
    // digits, exponents, -0, the smallest double, sums past 2^53 in their smallest unit.
    const mixes: [SensorType, number[]][] = [
      ['co2', [21.5, 0.1, 0.2, 19, 22.25, 3.5]],
      ['co2', [0.000123, 45, 12.3456789012345, 0.5, 1e-5]],
      ['co2', [12.345678901234567, 21.5, 0.1 + 0.2]],
      ['co2', [5e-324, 1e-7, 3]],
      ['temperature', [-0, 0, 2.5]],
      ['temperature', [-3.5, -12.25, 1.5, -0.1, -39.999999]],
      ['temperature', [-12.345678901234567, 0.1, -0.30000000000000004]],
      // In units of 1e-11 the exact sum passes 2^53 within the first batch.
      ['co2', [...Array<number>(10).fill(9999.12345678901), 1]],
    ];
    for (const [zone, [sensor_type, values]] of mixes.entries()) {
      const events = values.map((value, i) =>
        event({ sensor_type, zone_id: `zone-0${zone + 1}`, value, ts_event: at(i * 10_000) }),
      );
      // Two batches per zone: the second merges into the windows the first wrote.
      for (const batch of [events.slice(0, -1), events.slice(-1)]) {
        await storeBatch(db.sql, batch, DEFAULT_ALERT_RULES);
      }
    }
    const [stored, recomputed] = await Promise.all([
      db.sql<{ zone: string; window: string; sum: string }[]>`
        select zone_id as zone, window_start::text as window, sum_value::text as sum
        from telemetry_agg_5m order by 1, 2`,
      db.sql<{ zone: string; window: string; sum: string }[]>`
        select zone_id as zone,
               date_bin('5 minutes', ts_event, timestamptz '1970-01-01 00:00:00+00')::text as window,
               sum(value::numeric)::text as sum
        from telemetry_events group by 1, 2 order by 1, 2`,
    ]);
    assert.deepEqual([...stored], [...recomputed]);
    assert.deepEqual(await windowMismatches(db), []);
  });

  it('when another writer changes 15-minute windows, then the trigger still rolls them up into hours', async () => {
    const start = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000);
    const quarter = new Date(start.getTime() + 15 * 60_000);
    await storeBatch(
      db.sql,
      [event({ ts_event: start.toISOString(), value: 20 })],
      DEFAULT_ALERT_RULES,
    );
    // A backfill, or a processor of the previous release during an upgrade: no rollup of its own.
    await db.sql`
      insert into telemetry_agg_15m as a
        (site_id, zone_id, sensor_type, window_start, count_events, sum_value, min_value, max_value)
      values ('site-st', 'zone-01', 'temperature', ${start}, 2, 44, 21, 23),
             ('site-st', 'zone-01', 'temperature', ${quarter}, 1, 30, 30, 30)
      on conflict (site_id, zone_id, sensor_type, window_start) do update set
        count_events = a.count_events + excluded.count_events,
        sum_value = a.sum_value + excluded.sum_value,
        min_value = least(a.min_value, excluded.min_value),
        max_value = greatest(a.max_value, excluded.max_value)`;
    const [hour] = await db.sql<{ count: number; sum: string; min: number; max: number }[]>`
      select count_events::int as count, sum_value::text as sum, min_value as min, max_value as max
      from telemetry_agg_1h`;
    assert.deepEqual(hour, { count: 4, sum: '94', min: 20, max: 30 });
  });
});
