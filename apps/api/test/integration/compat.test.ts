import assert from 'node:assert/strict';
import {
  insertAlerts,
  insertRawEvents,
  insertWindows,
  problemOf,
  startTestApi,
  window,
  type TestApi,
} from '../support.ts';

// A pinned clock, so "recent" windows are fixed timestamps.
const NOW = Date.parse('2025-06-01T12:07:30Z');

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `GET ${url}: ${response.status}`);
  return response.json();
}

describe('the compat routes', () => {
  let api: TestApi;

  before(async () => {
    api = await startTestApi({ now: () => NOW });
  });

  after(async () => {
    await api.close();
  });

  describe('with no data', () => {
    for (const path of [
      '/trends?sensor_type=co2',
      '/alerts/recent',
      '/alerts',
      '/utilization/heatmap',
    ]) {
      it(`when nothing is stored, then ${path} is an empty list`, async () => {
        assert.deepEqual(await getJson(`${api.url}${path}`), []);
      });
    }

    it('when a device never reported, then /devices/{id} is a 404 problem', async () => {
      const response = await fetch(`${api.url}/devices/site-01-zone-01-dev-01`);
      assert.equal(response.status, 404);
      assert.match(String((await problemOf(response)).detail), /has not reported/);
    });
  });

  describe('with data', () => {
    before(async () => {
      await insertWindows(api.db.sql, [
        window('site-01/zone-01/co2', '2025-06-01T11:55:00Z', [2, 900, 420, 480]),
        window('site-01/zone-01/co2', '2025-06-01T12:00:00Z', [3, 1500, 450, 560]),
        window('site-01/zone-02/co2', '2025-06-01T12:00:00Z', [1, 700, 700, 700]),
        window('site-02/zone-01/co2', '2025-06-01T12:05:00Z', [4, 2000, 480, 520]),
        window('site-01/zone-01/occupancy', '2025-06-01T11:00:00Z', [10, 1000, 100, 100]),
        window('site-01/zone-01/occupancy', '2025-06-01T11:10:00Z', [2, 10, 4, 6]),
        window('site-01/zone-01/occupancy', '2025-06-01T12:05:00Z', [3, 6, 1, 3]),
        window('site-02/zone-03/occupancy', '2025-06-01T12:00:00Z', [4, 40, 8, 12]),
      ]);
      await insertWindows(
        api.db.sql,
        [window('site-01/zone-01/co2', '2025-06-01T11:45:00Z', [6, 3000, 400, 700])],
        '15m',
      );
      await insertAlerts(api.db.sql, [
        {
          site_id: 'site-01',
          zone_id: 'zone-02',
          sensor_type: 'co2',
          alert_type: 'CO2_HIGH',
          threshold: 1000,
          value: 1200,
          triggered_at: '2025-06-01T10:00:00Z',
          status: 'resolved',
        },
        {
          site_id: 'site-02',
          zone_id: 'zone-01',
          sensor_type: 'temperature',
          alert_type: 'TEMPERATURE_HIGH',
          threshold: 30,
          value: 31.5,
          triggered_at: '2025-06-01T12:01:00Z',
        },
      ]);
      const device = {
        device_id: 'site-01-zone-01-dev-01',
        site_id: 'site-01',
        zone_id: 'zone-01',
      };
      await insertRawEvents(api.db.sql, [
        { ...device, sensor_type: 'temperature', value: 21, ts_event: '2025-06-01T12:00:00Z' },
        { ...device, sensor_type: 'temperature', value: 23, ts_event: '2025-06-01T12:01:00Z' },
        { ...device, sensor_type: 'co2', value: 650, ts_event: '2025-06-01T12:02:00Z' },
        { ...device, sensor_type: 'co2', value: 910, ts_event: '2025-06-01T11:30:00Z' },
        // More than 24 hours before its last reading: outside the period.
        { ...device, sensor_type: 'co2', value: 5000, ts_event: '2025-05-30T12:00:00Z' },
      ]);
    });

    it('when trends are asked for, then windows come newest first with zones merged exactly', async () => {
      assert.deepEqual(await getJson(`${api.url}/trends?sensor_type=co2`), [
        { timestamp: '2025-06-01T12:05:00.000Z', avg: 500, min: 480, max: 520 },
        { timestamp: '2025-06-01T12:00:00.000Z', avg: 550, min: 450, max: 700 },
        { timestamp: '2025-06-01T11:55:00.000Z', avg: 450, min: 420, max: 480 },
      ]);
    });

    it('when trends are filtered by zone and window 15m, then only that zone and table count', async () => {
      assert.deepEqual(await getJson(`${api.url}/trends?sensor_type=co2&zone_id=zone-02`), [
        { timestamp: '2025-06-01T12:00:00.000Z', avg: 700, min: 700, max: 700 },
      ]);
      assert.deepEqual(await getJson(`${api.url}/trends?sensor_type=co2&window=15m`), [
        { timestamp: '2025-06-01T11:45:00.000Z', avg: 500, min: 400, max: 700 },
      ]);
    });

    it('when sensor_type is missing or the window unknown, then a 400 problem names it', async () => {
      const missing = await fetch(`${api.url}/trends`);
      assert.equal(missing.status, 400);
      assert.equal((await problemOf(missing)).parameter, 'sensor_type');
      const window1h = await fetch(`${api.url}/trends?sensor_type=co2&window=1h`);
      assert.equal(window1h.status, 400);
      const problem = await problemOf(window1h);
      assert.equal(problem.parameter, 'window');
      assert.match(String(problem.detail), /5m, 15m/);
    });

    it('when /alerts is asked for, then incidents have the compat fields and resolved flag', async () => {
      const alerts = (await getJson(`${api.url}/alerts`)) as Record<string, unknown>[];
      assert.equal(alerts.length, 2);
      const [newest, older] = alerts;
      assert.ok(newest && older);
      assert.equal(typeof newest.alert_id, 'number');
      assert.deepEqual(newest, {
        alert_id: newest.alert_id,
        site_id: 'site-02',
        zone_id: 'zone-01',
        alert_type: 'TEMPERATURE_HIGH',
        threshold: 30,
        value: 31.5,
        triggered_at: '2025-06-01T12:01:00.000Z',
        resolved: false,
      });
      assert.equal(older.resolved, true);
    });

    it('when /alerts/recent is asked for with a limit, then it has the short field names', async () => {
      const alerts = (await getJson(`${api.url}/alerts/recent?limit=1`)) as unknown[];
      assert.equal(alerts.length, 1);
      const [first] = alerts as Record<string, unknown>[];
      assert.ok(first);
      assert.deepEqual(Object.keys(first).sort(), [
        'alert_id',
        'site',
        'threshold',
        'time',
        'type',
        'value',
        'zone',
      ]);
      assert.equal(first.type, 'TEMPERATURE_HIGH');
      assert.equal(first.time, '2025-06-01T12:01:00.000Z');
    });

    it('when the limit is not a positive number, then a 400 problem names it', async () => {
      for (const limit of ['0', 'ten', '100000']) {
        const response = await fetch(`${api.url}/alerts?limit=${limit}`);
        assert.equal(response.status, 400);
        assert.equal((await problemOf(response)).parameter, 'limit');
      }
    });

    it('when the heatmap is asked for, then occupancy is averaged over the last hour per zone', async () => {
      assert.deepEqual(await getJson(`${api.url}/utilization/heatmap`), [
        { site_id: 'site-01', zone_id: 'zone-01', occupancy_rate: 3.2 },
        { site_id: 'site-02', zone_id: 'zone-03', occupancy_rate: 10 },
      ]);
      assert.deepEqual(await getJson(`${api.url}/utilization/heatmap?site_id=site-02`), [
        { site_id: 'site-02', zone_id: 'zone-03', occupancy_rate: 10 },
      ]);
    });

    it('when a device reported, then its real figures over its last 24 hours are returned', async () => {
      assert.deepEqual(await getJson(`${api.url}/devices/site-01-zone-01-dev-01`), {
        device_id: 'site-01-zone-01-dev-01',
        avg_temp: 22,
        max_co2: 910,
        last_seen: '2025-06-01T12:02:00.000Z',
      });
    });

    it('when a device id is malformed, then a 400 problem names the path parameter', async () => {
      const response = await fetch(`${api.url}/devices/${encodeURIComponent('dev 1; drop')}`);
      assert.equal(response.status, 400);
      const problem = await problemOf(response);
      assert.equal(problem.parameter, 'device_id');
      assert.equal(problem.title, 'Invalid path parameter');
    });
  });
});
