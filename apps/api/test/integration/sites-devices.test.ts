import assert from 'node:assert/strict';
import {
  insertAlerts,
  insertRawEvents,
  problemOf,
  startTestApi,
  type TestApi,
} from '../support.ts';

const NOW = Date.parse('2025-06-01T12:30:00Z');

const at = (zone: string, dev: string) => ({
  device_id: `site-01-${zone}-${dev}`,
  site_id: 'site-01',
  zone_id: zone,
});

describe('/api/v1/sites and /api/v1/devices', () => {
  let api: TestApi;

  before(async () => {
    api = await startTestApi({ now: () => NOW });
  });

  after(async () => {
    await api.close();
  });

  it('when no site is registered, then the list is empty and a site is 404', async () => {
    const list = await fetch(`${api.url}/api/v1/sites`);
    assert.equal(list.status, 200);
    assert.deepEqual(await list.json(), []);
    const one = await fetch(`${api.url}/api/v1/sites/site-01`);
    assert.equal(one.status, 404);
    await problemOf(one);
  });

  describe('with a site reporting', () => {
    before(async () => {
      await api.db.sql`
        insert into sites (site_id, display_name, last_event_at) values
          ('site-01', 'Head office', '2025-06-01T12:20:00Z'), ('site-02', null, null)`;
      await insertRawEvents(api.db.sql, [
        {
          ...at('zone-01', 'dev-01'),
          sensor_type: 'co2',
          value: 500,
          ts_event: '2025-06-01T12:10:00Z',
        },
        {
          ...at('zone-01', 'dev-02'),
          sensor_type: 'co2',
          value: 540,
          ts_event: '2025-06-01T12:20:00Z',
        },
        {
          ...at('zone-01', 'dev-01'),
          sensor_type: 'temperature',
          value: 22.5,
          ts_event: '2025-06-01T12:15:00Z',
        },
        {
          ...at('zone-02', 'dev-01'),
          sensor_type: 'humidity',
          value: 45,
          ts_event: '2025-06-01T12:05:00Z',
        },
        // Two hours ago: counts for the device's stats, not for the site's active devices.
        {
          ...at('zone-03', 'dev-01'),
          sensor_type: 'co2',
          value: 480,
          ts_event: '2025-06-01T10:30:00Z',
        },
        {
          ...at('zone-01', 'dev-01'),
          sensor_type: 'co2',
          value: 700,
          ts_event: '2025-06-01T09:00:00Z',
        },
      ]);
      await insertAlerts(api.db.sql, [
        {
          site_id: 'site-01',
          zone_id: 'zone-01',
          sensor_type: 'co2',
          alert_type: 'CO2_HIGH',
          threshold: 1000,
          value: 1100,
          triggered_at: '2025-06-01T12:00:00Z',
        },
        {
          site_id: 'site-01',
          zone_id: 'zone-02',
          sensor_type: 'co2',
          alert_type: 'CO2_HIGH',
          threshold: 1000,
          value: 1100,
          triggered_at: '2025-06-01T11:00:00Z',
          status: 'resolved',
        },
      ]);
    });

    it('when sites are listed, then each has its zone, device and open alert counts', async () => {
      const response = await fetch(`${api.url}/api/v1/sites`);
      assert.deepEqual(await response.json(), [
        {
          site_id: 'site-01',
          display_name: 'Head office',
          last_event_at: '2025-06-01T12:20:00.000Z',
          zone_count: 2,
          device_count: 3,
          open_alert_count: 1,
        },
        {
          site_id: 'site-02',
          display_name: null,
          last_event_at: null,
          zone_count: 0,
          device_count: 0,
          open_alert_count: 0,
        },
      ]);
    });

    it('when one site is asked for, then its zones carry the latest reading per sensor', async () => {
      const response = await fetch(`${api.url}/api/v1/sites/site-01`);
      assert.equal(response.status, 200);
      const site = (await response.json()) as { zones: unknown; open_alert_count: number };
      assert.equal(site.open_alert_count, 1);
      assert.deepEqual(site.zones, [
        {
          zone_id: 'zone-01',
          readings: [
            {
              sensor_type: 'co2',
              value: 540,
              device_id: 'site-01-zone-01-dev-02',
              ts_event: '2025-06-01T12:20:00.000Z',
            },
            {
              sensor_type: 'temperature',
              value: 22.5,
              device_id: 'site-01-zone-01-dev-01',
              ts_event: '2025-06-01T12:15:00.000Z',
            },
          ],
        },
        {
          zone_id: 'zone-02',
          readings: [
            {
              sensor_type: 'humidity',
              value: 45,
              device_id: 'site-01-zone-02-dev-01',
              ts_event: '2025-06-01T12:05:00.000Z',
            },
          ],
        },
      ]);
    });

    it('when a site id is malformed, then a 400 problem', async () => {
      const response = await fetch(`${api.url}/api/v1/sites/${encodeURIComponent('a b')}`);
      assert.equal(response.status, 400);
      assert.equal((await problemOf(response)).parameter, 'site_id');
    });

    it('when a device is asked for, then it has its latest value per sensor and 24-hour stats', async () => {
      const response = await fetch(`${api.url}/api/v1/devices/site-01-zone-01-dev-01`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), {
        device_id: 'site-01-zone-01-dev-01',
        site_id: 'site-01',
        zone_id: 'zone-01',
        last_seen: '2025-06-01T12:15:00.000Z',
        latest: [
          { sensor_type: 'co2', value: 500, ts_event: '2025-06-01T12:10:00.000Z' },
          { sensor_type: 'temperature', value: 22.5, ts_event: '2025-06-01T12:15:00.000Z' },
        ],
        stats: {
          from: '2025-05-31T12:30:00.000Z',
          to: '2025-06-01T12:30:00.000Z',
          sensors: [
            { sensor_type: 'co2', count: 2, avg: 600, min: 500, max: 700 },
            { sensor_type: 'temperature', count: 1, avg: 22.5, min: 22.5, max: 22.5 },
          ],
        },
      });
    });

    it('when a period is given, then the stats cover only it', async () => {
      const response = await fetch(
        `${api.url}/api/v1/devices/site-01-zone-01-dev-01?from=2025-06-01T12:00:00Z&to=2025-06-01T12:12:00Z`,
      );
      const device = (await response.json()) as { stats: { sensors: unknown[] } };
      assert.deepEqual(device.stats.sensors, [
        { sensor_type: 'co2', count: 1, avg: 500, min: 500, max: 500 },
      ]);
    });

    it('when a device never reported, then 404; when the period is too long, then 400', async () => {
      assert.equal((await fetch(`${api.url}/api/v1/devices/site-09-zone-01-dev-01`)).status, 404);
      const long = await fetch(
        `${api.url}/api/v1/devices/site-01-zone-01-dev-01?from=2025-01-01T00:00:00Z`,
      );
      assert.equal(long.status, 400);
      assert.equal((await problemOf(long)).parameter, 'from');
    });
  });
});
