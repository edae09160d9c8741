// The batch store on a real PostgreSQL: what goes in comes back exactly, and copies of an event,
// within a batch or across batches, are stored and counted once.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DEFAULT_ALERT_RULES, type TelemetryEvent } from '@telemetrypulse/shared';
import { createTestDatabase, type TestDatabase } from '../../../devstack/src/test/database.ts';
import { storeBatch } from '../../src/store.ts';
import { aggregateMismatches, rawCounts } from '../invariants.ts';

function event(overrides: Partial<TelemetryEvent> = {}): TelemetryEvent {
  return {
    event_id: randomUUID(),
    device_id: 'site-st-zone-01-dev-01',
    site_id: 'site-st',
    zone_id: 'zone-01',
    sensor_type: 'temperature',
    value: 21.5,
    ts_event: new Date(Date.now() - 60_000).toISOString(),
    ...overrides,
  };
}

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
    assert.deepEqual(await aggregateMismatches(db, 'telemetry_agg_5m'), []);
    assert.deepEqual(await aggregateMismatches(db, 'telemetry_agg_15m'), []);
    const [alerts] = await db.sql<{ n: number; count: number }[]>`
      select count(*)::int as n, sum(event_count)::int as count from telemetry_alerts`;
    assert.deepEqual(alerts, { n: 1, count: 1 });
  });
});
