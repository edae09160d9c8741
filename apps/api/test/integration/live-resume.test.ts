import assert from 'node:assert/strict';
import { DEFAULT_ALERT_RULES, type TelemetryEvent } from '@telemetrypulse/shared';
import { telemetryEvent } from '@telemetrypulse/devstack/test';
import { storeBatch } from '@telemetrypulse/processor/testing';
import { SseReader } from '../sse.ts';
import { type LiveTestApi, startLiveTestApi } from '../support.ts';

const KEY = 'resume-key-0123456789';

/** A reading taken now. */
function reading(
  site: string,
  zone: string,
  sensor: TelemetryEvent['sensor_type'],
  value: number,
): TelemetryEvent {
  const now = new Date().toISOString();
  return telemetryEvent({
    site_id: site,
    zone_id: zone,
    sensor_type: sensor,
    value,
    ts_event: now,
  });
}

interface StreamedAlert {
  alert_id: number;
  site_id: string;
  status: string;
  acknowledged_by: string | null;
}

const alertsOf = (reader: SseReader) =>
  reader.events.filter((e) => e.event === 'alert').map((e) => JSON.parse(e.data) as StreamedAlert);
const resumedOf = (reader: SseReader) =>
  reader.events
    .filter((e) => e.event === 'resumed')
    .map((e) => JSON.parse(e.data) as { alerts: number; windows: number; complete: boolean });

describe('GET /api/v1/live resumes from Last-Event-ID', () => {
  let api: LiveTestApi;

  before(async () => {
    api = await startLiveTestApi(
      { auth: { writeKeys: [KEY] }, liveHeartbeatMs: 200, liveReplayMs: 3_600_000 },
      { coalesceMs: 50, markerMs: 100 },
    );
  });

  after(() => api.close());

  async function connect(query: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const reader = new SseReader();
    api.readers.push(reader);
    const response = await reader.open(`${api.url}/api/v1/live${query}`, headers);
    assert.equal(response.status, 200);
    await reader.until('the connected comment', () => reader.comments.includes('connected'));
    return reader;
  }

  async function disconnect(reader: SseReader): Promise<void> {
    const before = api.hub.clients();
    reader.close();
    const deadline = Date.now() + 5000;
    while (api.hub.clients() >= before && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('when a client reconnects with its last id, then it gets what changed meanwhile, then resumed', async () => {
    const first = await connect('?site_id=site-05');
    await storeBatch(api.db.sql, [reading('site-05', 'zone-01', 'co2', 1500)], DEFAULT_ALERT_RULES);
    await first.until('the opened alert', () => alertsOf(first).length > 0);
    const [opened] = alertsOf(first);
    assert.ok(opened);
    const lastId = first.lastEventId;
    assert.ok(lastId, 'events carry an id');
    await disconnect(first);

    // Meanwhile: someone acknowledges the alert, new readings arrive, another site changes.
    const ack = await fetch(`${api.url}/api/v1/alerts/${opened.alert_id}/acknowledge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ by: 'bob', comment: 'on it' }),
    });
    assert.equal(ack.status, 200);
    await storeBatch(
      api.db.sql,
      [reading('site-05', 'zone-02', 'temperature', 22.5)],
      DEFAULT_ALERT_RULES,
    );
    await storeBatch(
      api.db.sql,
      [reading('site-06', 'zone-01', 'humidity', 97)],
      DEFAULT_ALERT_RULES,
    );

    const second = await connect('?site_id=site-05', { 'last-event-id': lastId });
    await second.until('the resumed event', () => resumedOf(second).length > 0);
    const [resumed] = resumedOf(second);
    assert.equal(resumed?.complete, true);
    const replayed = second.events.slice(
      0,
      second.events.findIndex((e) => e.event === 'resumed'),
    );
    const acknowledged = alertsOf(second).find((a) => a.alert_id === opened.alert_id);
    assert.deepEqual(
      { status: acknowledged?.status, by: acknowledged?.acknowledged_by },
      { status: 'acknowledged', by: 'bob' },
    );
    const windows = replayed
      .filter((e) => e.event === 'aggregates')
      .flatMap(
        (e) =>
          (JSON.parse(e.data) as { windows: { zone_id: string; sensor_type: string }[] }).windows,
      );
    assert.ok(windows.some((w) => w.zone_id === 'zone-02' && w.sensor_type === 'temperature'));
    assert.ok(
      replayed.every((e) => !e.data.includes('site-06')),
      'another site is not replayed',
    );
    assert.ok(second.lastEventId && second.lastEventId !== lastId);

    // And the stream goes on live.
    await storeBatch(
      api.db.sql,
      [reading('site-05', 'zone-03', 'humidity', 96)],
      DEFAULT_ALERT_RULES,
    );
    await second.until('a live alert after the replay', () =>
      alertsOf(second).some((a) => a.status === 'open' && a.alert_id !== opened.alert_id),
    );
  });

  it('when a client reconnects with last_event_id in the query, then it is resumed the same way', async () => {
    const first = await connect('?site_id=site-07');
    await first.until('a cursor', () => first.lastEventId !== undefined);
    const lastId = first.lastEventId ?? '';
    await disconnect(first);
    await storeBatch(api.db.sql, [reading('site-07', 'zone-01', 'co2', 1300)], DEFAULT_ALERT_RULES);

    const second = await connect(`?site_id=site-07&last_event_id=${encodeURIComponent(lastId)}`);
    await second.until('the resumed event', () => resumedOf(second).length > 0);
    assert.equal(resumedOf(second)[0]?.complete, true);
    // Replayed, and perhaps live again: copies carry the same row.
    const ids = new Set(alertsOf(second).map((a) => a.alert_id));
    assert.equal(ids.size, 1);
  });

  it('when the id is not one this API made, or older than the replay period, then resumed says incomplete', async () => {
    const garbage = await connect('', { 'last-event-id': 'not-a-cursor' });
    await garbage.until('the resumed event', () => resumedOf(garbage).length > 0);
    assert.deepEqual(resumedOf(garbage)[0], { alerts: 0, windows: 0, complete: false });

    const old = await connect('', { 'last-event-id': `1-${Date.now() - 2 * 3_600_000}` });
    await old.until('the resumed event', () => resumedOf(old).length > 0);
    assert.equal(resumedOf(old)[0]?.complete, false);
    // Still a working stream.
    await old.until('a heartbeat', () => old.comments.includes('heartbeat'));
  });

  it('when clients drop and resume while alerts keep opening concurrently, then none is missed', async () => {
    const site = 'site-08';
    const zones = Array.from({ length: 24 }, (_, i) => `zone-${String(i + 1).padStart(2, '0')}`);
    const seen = new Set<number>();
    let reader = await connect(`?site_id=${site}`);
    await reader.until('a cursor', () => reader.lastEventId !== undefined);

    // Three writers open one alert per zone, in separate transactions.
    const writers = [0, 1, 2].map(async (w) => {
      for (const zone of zones.filter((_, i) => i % 3 === w)) {
        await storeBatch(api.db.sql, [reading(site, zone, 'co2', 1400)], DEFAULT_ALERT_RULES);
        // Spread over time, so streams drop in the middle of the writes.
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
    });
    const writing = Promise.all(writers);
    const progress = { done: false };
    void writing.then(() => {
      progress.done = true;
    });
    // Reconnect every few events while the writers run.
    let reconnects = 0;
    while (!progress.done) {
      reconnects += 1;
      await reader.until('some events', () => reader.events.length >= 2 || progress.done, 10_000);
      for (const a of alertsOf(reader)) seen.add(a.alert_id);
      const lastId = reader.lastEventId ?? '';
      await disconnect(reader);
      reader = await connect(`?site_id=${site}`, { 'last-event-id': lastId });
      await reader.until('the resumed event', () => resumedOf(reader).length > 0);
    }
    await writing;
    const stored = await api.db.sql<{ alert_id: number }[]>`
      select alert_id from telemetry_alerts where site_id = ${site}`;
    assert.equal(stored.length, zones.length);
    assert.ok(reconnects >= 3, `only ${reconnects} reconnects`);
    await reader.until('every alert', () => {
      for (const a of alertsOf(reader)) seen.add(a.alert_id);
      return stored.every((s) => seen.has(s.alert_id));
    });
  });

  it('when the hub loses its notification connection, then streams end and resume with the gap', async () => {
    const first = await connect('?site_id=site-09');
    await first.until('a cursor', () => first.lastEventId !== undefined);
    const lastId = first.lastEventId ?? '';
    await api.db.sql`
      select pg_terminate_backend(pid) from pg_stat_activity
      where datname = current_database() and query ilike 'listen%'`;
    await first.until('the end of the stream', () => first.ended);
    await storeBatch(api.db.sql, [reading('site-09', 'zone-01', 'co2', 1600)], DEFAULT_ALERT_RULES);

    const second = await connect('?site_id=site-09', { 'last-event-id': lastId });
    await second.until('the resumed event', () => resumedOf(second).length > 0);
    assert.ok(alertsOf(second).some((a) => a.site_id === 'site-09' && a.status === 'open'));
  });
});
