import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { SensorType, TelemetryAlertRow, TelemetryEvent } from '@telemetrypulse/shared';
import {
  groupCaughtUp,
  produceEvents,
  readTopic,
  type TestDatabase,
  topicSize,
  usePipelineFixture,
  waitUntil,
} from '@telemetrypulse/devstack/test';
import { publishedAlerts, startTestProcessor } from '../support.ts';

/** Readings of one device, 10 s apart, starting half an hour ago (well inside the accepted ages). */
function readings(
  zoneId: string,
  sensorType: SensorType,
  values: readonly number[],
  startMs = Date.now() - 30 * 60_000,
): TelemetryEvent[] {
  return values.map((value, i) => ({
    event_id: randomUUID(),
    device_id: `site-al-${zoneId}-dev-01`,
    site_id: 'site-al',
    zone_id: zoneId,
    sensor_type: sensorType,
    value,
    ts_event: new Date(startMs + i * 10_000).toISOString(),
  }));
}

async function alerts(db: TestDatabase): Promise<TelemetryAlertRow[]> {
  return [...(await db.sql<TelemetryAlertRow[]>`select * from telemetry_alerts order by alert_id`)];
}

async function storedCount(db: TestDatabase): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from telemetry_events`;
  return row?.n ?? 0;
}

describe('processor alerts (real Kafka + PostgreSQL)', () => {
  const fx = usePipelineFixture();

  async function publishAndWait(events: readonly TelemetryEvent[], groupId: string): Promise<void> {
    await produceEvents(fx.topics.events, events);
    await waitUntil('the batch is stored and committed', () =>
      groupCaughtUp(groupId, fx.topics.events),
    );
  }

  it('when co2 goes above 1000 for a while and back to normal, then one resolved CO2_HIGH alert describes the incident, and a redelivery changes nothing', async () => {
    const events = readings('zone-01', 'co2', [650, 1100, 1450, 1300, 1001, 700, 680]);
    const high = events.slice(1, 5);
    const group = `g-${randomUUID()}`;
    fx.processors.push(await startTestProcessor(fx.db, fx.topics, group));
    await publishAndWait(events, group);

    const before = await alerts(fx.db);
    assert.equal(before.length, 1);
    const [alert] = before;
    assert.deepEqual(
      {
        site: alert?.site_id,
        zone: alert?.zone_id,
        sensor: alert?.sensor_type,
        type: alert?.alert_type,
        status: alert?.status,
        threshold: alert?.threshold,
        value: alert?.value,
        peak: alert?.peak_value,
        count: alert?.event_count,
        triggered: alert?.triggered_at.toISOString(),
        lastSeen: alert?.last_seen_at.toISOString(),
        resolved: alert?.resolved_at?.toISOString(),
      },
      {
        site: 'site-al',
        zone: 'zone-01',
        sensor: 'co2',
        type: 'CO2_HIGH',
        status: 'resolved',
        threshold: 1000,
        value: 1001,
        peak: 1450,
        count: high.length,
        triggered: high[0]?.ts_event,
        lastSeen: high.at(-1)?.ts_event,
        resolved: events[5]?.ts_event,
      },
    );

    // A second group reads the topic from the beginning: every event is delivered again.
    const again = `g-${randomUUID()}`;
    fx.processors.push(await startTestProcessor(fx.db, fx.topics, again));
    await waitUntil('the redelivery is committed', () => groupCaughtUp(again, fx.topics.events));
    assert.equal(await storedCount(fx.db), events.length);
    assert.deepEqual(await alerts(fx.db), before);
  });

  it('when co2 stays above 1000, then the alert stays open with the latest value', async () => {
    const events = readings('zone-02', 'co2', [700, 1200, 1600, 1500]);
    const group = `g-${randomUUID()}`;
    fx.processors.push(await startTestProcessor(fx.db, fx.topics, group));
    await publishAndWait(events, group);

    const rows = await alerts(fx.db);
    assert.deepEqual(
      rows.map((a) => [
        a.alert_type,
        a.status,
        a.value,
        a.peak_value,
        a.event_count,
        a.resolved_at,
      ]),
      [['CO2_HIGH', 'open', 1500, 1600, 3, null]],
    );
    assert.equal(rows[0]?.triggered_at.toISOString(), events[1]?.ts_event);
  });

  it('when an incident spans several batches, then it stays one alert and resolves in a later batch', async () => {
    const events = readings('zone-03', 'co2', [1200, 1300, 1250, 900]);
    const group = `g-${randomUUID()}`;
    fx.processors.push(await startTestProcessor(fx.db, fx.topics, group));
    for (const event of events) await publishAndWait([event], group);

    const rows = await alerts(fx.db);
    assert.deepEqual(
      rows.map((a) => [a.status, a.peak_value, a.event_count, a.resolved_at?.toISOString()]),
      [['resolved', 1300, 3, events[3]?.ts_event]],
    );
  });

  // Normal readings judged in an earlier batch must still fence off late data (alert_watermarks).
  it('when a late high reading arrives after later normal readings were stored, then it opens no new alert', async () => {
    const events = readings('zone-05', 'co2', [1200, 700, 1500, 720]);
    const [opened, resolved, late, laterNormal] = events;
    const group = `g-${randomUUID()}`;
    fx.processors.push(await startTestProcessor(fx.db, fx.topics, group));
    await publishAndWait([opened!, resolved!, laterNormal!], group);
    await publishAndWait([late!], group);

    const rows = await alerts(fx.db);
    assert.deepEqual(
      rows.map((a) => [a.status, a.triggered_at.toISOString(), a.resolved_at?.toISOString()]),
      [['resolved', opened?.ts_event, resolved?.ts_event]],
    );
  });

  // A zone's devices sit on different partitions, so their readings interleave in event time.
  it('when another device of the zone reports a higher peak in a later batch, then the open alert counts it', async () => {
    const first = readings('zone-06', 'co2', [1200, 1300, 1250]);
    const other = readings('zone-06', 'co2', [1900], Date.parse(first[1]!.ts_event) + 5_000).map(
      (e) => ({ ...e, device_id: 'site-al-zone-06-dev-02' }),
    );
    const group = `g-${randomUUID()}`;
    fx.processors.push(await startTestProcessor(fx.db, fx.topics, group));
    await publishAndWait(first, group);
    await publishAndWait(other, group);

    const rows = await alerts(fx.db);
    assert.deepEqual(
      rows.map((a) => [a.status, a.peak_value, a.event_count]),
      [['open', 1900, 4]],
    );
  });

  it('when one device of a zone reads high and another normal, then one incident stays open without flapping, and it resolves once both are normal', async () => {
    const startMs = Date.now() - 30 * 60_000;
    const device = (n: number, values: readonly number[], offsetMs: number) =>
      readings('zone-07', 'co2', values, startMs + offsetMs).map((e) => ({
        ...e,
        device_id: `site-al-zone-07-dev-0${n}`,
      }));
    // Readings 10 s apart per device, the two devices 5 s apart: high, normal, high, normal, ...
    const hot = device(1, [1200, 1300, 1250, 1280, 850], 0);
    const normal = device(2, [700, 720, 710, 690, 705], 5_000);
    const group = `g-${randomUUID()}`;
    fx.processors.push(await startTestProcessor(fx.db, fx.topics, group));
    // One at a time in event-time order (the devices sit on different partitions, which would
    // otherwise let either device's readings arrive first).
    const inOrder = [...hot, ...normal].sort((a, b) => a.ts_event.localeCompare(b.ts_event));
    for (const event of inOrder.slice(0, 8)) await publishAndWait([event], group);
    assert.deepEqual(
      (await alerts(fx.db)).map((a) => [a.status, a.value, a.peak_value, a.event_count]),
      [['open', 1280, 1300, 4]],
    );
    for (const event of inOrder.slice(8)) await publishAndWait([event], group);

    const rows = await alerts(fx.db);
    assert.deepEqual(
      rows.map((a) => [
        a.status,
        a.peak_value,
        a.event_count,
        a.triggered_at.toISOString(),
        a.resolved_at?.toISOString(),
      ]),
      [['resolved', 1300, 4, hot[0]?.ts_event, hot[4]?.ts_event]],
    );
    // On the alerts topic: one incident, keyed by its id, its records ordered by version.
    await waitUntil(
      'both transitions are published',
      async () => (await topicSize(fx.topics.alerts)) >= 2,
    );
    const published = await publishedAlerts(fx.topics.alerts);
    const alertId = String(rows[0]?.alert_id);
    assert.deepEqual(
      published.map(({ key, alert }) => {
        const record = alert as typeof alert & { version: number; transition_at: string };
        return [key, record.transition, record.version, record.transition_at];
      }),
      [
        [alertId, 'opened', 1, hot[0]?.ts_event],
        [alertId, 'resolved', 2, hot[4]?.ts_event],
      ],
    );
  });

  it('when humidity reads 101 %, then it goes to the DLQ as out of range and its neighbours are stored', async () => {
    const events = readings('zone-04', 'humidity', [45, 101, 50]);
    const group = `g-${randomUUID()}`;
    fx.processors.push(await startTestProcessor(fx.db, fx.topics, group));
    await publishAndWait(events, group);

    const stored = await fx.db.sql<{ event_id: string }[]>`
      select event_id from telemetry_events order by ts_event`;
    assert.deepEqual(
      stored.map((r) => r.event_id),
      [events[0]?.event_id, events[2]?.event_id],
    );
    const [dead] = await readTopic(fx.topics.dlq, 1);
    const record = JSON.parse(dead?.value ?? '{}') as Record<string, unknown>;
    assert.match(String(record.error), /out of range/);
    assert.equal(record.original_payload, JSON.stringify(events[1]));
    assert.equal(dead?.key, events[1]?.device_id);
    assert.deepEqual(await alerts(fx.db), []);
  });
});
