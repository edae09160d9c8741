import assert from 'node:assert/strict';
import { DEFAULT_ALERT_RULES, type TelemetryEvent } from '@telemetrypulse/shared';
import { telemetryEvent } from '@telemetrypulse/devstack/test';
import { storeBatch } from '@telemetrypulse/processor/testing';
import { SseReader } from '../sse.ts';
import { type LiveTestApi, startLiveTestApi } from '../support.ts';

const KEY = 'live-key-0123456789';

/** A reading of zone-01 taken now. */
function reading(
  site: string,
  sensor: TelemetryEvent['sensor_type'],
  value: number,
): TelemetryEvent {
  const now = new Date().toISOString();
  return telemetryEvent({ site_id: site, sensor_type: sensor, value, ts_event: now });
}

describe('GET /api/v1/live', () => {
  let api: LiveTestApi;

  async function connect(query = ''): Promise<SseReader> {
    const reader = new SseReader();
    api.readers.push(reader);
    const response = await reader.open(`${api.url}/api/v1/live${query}`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    await reader.until('the connected comment', () => reader.comments.includes('connected'));
    return reader;
  }

  before(async () => {
    api = await startLiveTestApi(
      { auth: { writeKeys: [KEY] }, liveHeartbeatMs: 200 },
      { coalesceMs: 50 },
    );
  });

  after(() => api.close());

  it('when the processor opens an alert and stores windows, then a site stream receives both', async () => {
    const stream = await connect('?site_id=site-01');
    await storeBatch(api.db.sql, [reading('site-01', 'co2', 1450)], DEFAULT_ALERT_RULES);

    await stream.until('an alert and aggregates', () =>
      ['alert', 'aggregates'].every((e) => stream.events.some((x) => x.event === e)),
    );
    const alert = JSON.parse(stream.events.find((e) => e.event === 'alert')?.data ?? '{}') as {
      alert_type: string;
      status: string;
      site_id: string;
      value: number;
    };
    assert.deepEqual(
      { type: alert.alert_type, status: alert.status, site: alert.site_id, value: alert.value },
      { type: 'CO2_HIGH', status: 'open', site: 'site-01', value: 1450 },
    );
    const aggregates = JSON.parse(
      stream.events.find((e) => e.event === 'aggregates')?.data ?? '{}',
    ) as { site_id: string; windows: { sensor_type: string; count: number; max: number }[] };
    assert.equal(aggregates.site_id, 'site-01');
    assert.deepEqual(
      aggregates.windows.map((w) => [w.sensor_type, w.count, w.max]),
      [['co2', 1, 1450]],
    );
  });

  it('when an alert is acknowledged, then the stream receives the change with who did it', async () => {
    const stream = await connect();
    const [row] = await api.db.sql<{ alert_id: number }[]>`
      select alert_id from telemetry_alerts where status = 'open' limit 1`;
    assert.ok(row);
    const response = await fetch(`${api.url}/api/v1/alerts/${row.alert_id}/acknowledge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ by: 'alice' }),
    });
    assert.equal(response.status, 200);
    await stream.until('the acknowledged alert', () =>
      stream.events.some(
        (e) => e.event === 'alert' && e.data.includes('"acknowledged_by":"alice"'),
      ),
    );
  });

  it('when another site changes, then a site-filtered stream does not receive it', async () => {
    const site1 = await connect('?site_id=site-01');
    const all = await connect();
    await storeBatch(api.db.sql, [reading('site-02', 'humidity', 95)], DEFAULT_ALERT_RULES);
    await all.until('site-02 alert', () => all.events.some((e) => e.data.includes('site-02')));
    await storeBatch(api.db.sql, [reading('site-01', 'temperature', 21)], DEFAULT_ALERT_RULES);
    await site1.until('site-01 aggregates', () =>
      site1.events.some((e) => e.event === 'aggregates'),
    );
    assert.ok(site1.events.every((e) => !e.data.includes('site-02')));
  });

  it('when the stream is idle, then heartbeats keep it alive', async () => {
    const stream = await connect();
    await stream.until(
      'two heartbeats',
      () => stream.comments.filter((c) => c === 'heartbeat').length >= 2,
    );
  });

  it('when the client disconnects, then the hub forgets it', async () => {
    const before = api.hub.clients();
    const stream = await connect();
    assert.equal(api.hub.clients(), before + 1);
    stream.close();
    const deadline = Date.now() + 5000;
    while (api.hub.clients() > before && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(api.hub.clients(), before);
  });

  it('when the site filter is malformed, then a 400 problem, not a stream', async () => {
    const response = await fetch(`${api.url}/api/v1/live?site_id=${encodeURIComponent('a b')}`);
    assert.equal(response.status, 400);
  });

  it('when the hub closes (shutdown), then open streams end', async () => {
    const stream = await connect();
    await api.hub.close();
    await stream.until('the end of the stream', () => stream.ended);
  });
});
