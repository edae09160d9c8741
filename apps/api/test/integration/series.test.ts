import assert from 'node:assert/strict';
import {
  insertRawEvents,
  insertWindows,
  problemOf,
  startTestApi,
  window,
  type TestApi,
} from '../support.ts';

const NOW = Date.parse('2025-06-02T00:10:00Z');

interface Series {
  from: string;
  to: string;
  zone_id: string | null;
  device_id: string | null;
  points: { start: string; count: number; avg: number; min: number; max: number }[];
}

describe('GET /api/v1/series', () => {
  let api: TestApi;
  const series = async (query: string): Promise<Series> => {
    const response = await fetch(`${api.url}/api/v1/series?${query}`);
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as Series;
  };

  before(async () => {
    api = await startTestApi({ now: () => NOW });
    await insertWindows(
      api.db.sql,
      [
        window('site-01/zone-01/co2', '2025-06-01T22:00:00Z', [3, 1500, 400, 600]),
        window('site-01/zone-01/co2', '2025-06-01T22:45:00Z', [1, 900, 900, 900]),
        window('site-01/zone-02/co2', '2025-06-01T22:15:00Z', [6, 4200, 500, 1100]),
        window('site-01/zone-01/co2', '2025-06-01T23:00:00Z', [2, 800, 390, 410]),
        window('site-02/zone-01/co2', '2025-06-01T22:00:00Z', [9, 9000, 1000, 1000]),
        window('site-01/zone-01/humidity', '2025-06-01T22:00:00Z', [2, 90, 40, 50]),
      ],
      '15m',
    );
    await insertWindows(api.db.sql, [
      window('site-01/zone-01/co2', '2025-06-01T23:55:00Z', [2, 1000, 480, 520]),
      window('site-01/zone-02/co2', '2025-06-01T23:55:00Z', [2, 1400, 690, 710]),
      window('site-01/zone-01/co2', '2025-06-02T00:05:00Z', [1, 450, 450, 450]),
    ]);
    const device = { device_id: 'site-01-zone-01-dev-01', site_id: 'site-01', zone_id: 'zone-01' };
    await insertRawEvents(api.db.sql, [
      { ...device, sensor_type: 'co2', value: 400, ts_event: '2025-06-01T23:01:00Z' },
      { ...device, sensor_type: 'co2', value: 600, ts_event: '2025-06-01T23:59:59Z' },
      { ...device, sensor_type: 'co2', value: 800, ts_event: '2025-06-02T00:00:00Z' },
      { ...device, sensor_type: 'temperature', value: 21, ts_event: '2025-06-02T00:00:00Z' },
    ]);
  });

  after(async () => {
    await api.close();
  });

  it('when the bucket is 1h, then 15-minute windows roll up exactly from sums and counts', async () => {
    const result = await series(
      'site_id=site-01&sensor_type=co2&bucket=1h&from=2025-06-01T22:00:00Z&to=2025-06-02T00:00:00Z',
    );
    assert.deepEqual(result.points, [
      // (1500 + 900 + 4200) / (3 + 1 + 6), not the average of the three window averages
      { start: '2025-06-01T22:00:00.000Z', count: 10, avg: 660, min: 400, max: 1100 },
      { start: '2025-06-01T23:00:00.000Z', count: 2, avg: 400, min: 390, max: 410 },
    ]);
  });

  it('when the bucket is 1d and a zone is given, then only that zone is rolled up per UTC day', async () => {
    const result = await series(
      'site_id=site-01&zone_id=zone-01&sensor_type=co2&bucket=1d&from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z',
    );
    assert.equal(result.zone_id, 'zone-01');
    assert.deepEqual(result.points, [
      { start: '2025-06-01T00:00:00.000Z', count: 6, avg: 3200 / 6, min: 390, max: 900 },
    ]);
  });

  it('when no period is given, then the last 24 hours of 5-minute windows come oldest first', async () => {
    const result = await series('site_id=site-01&sensor_type=co2');
    assert.equal(result.to, '2025-06-02T00:10:00.000Z');
    assert.equal(result.from, '2025-06-01T00:10:00.000Z');
    assert.deepEqual(result.points, [
      { start: '2025-06-01T23:55:00.000Z', count: 4, avg: 600, min: 480, max: 710 },
      { start: '2025-06-02T00:05:00.000Z', count: 1, avg: 450, min: 450, max: 450 },
    ]);
  });

  it('when a period is not aligned, then it is rounded out to bucket boundaries', async () => {
    const result = await series(
      'site_id=site-01&sensor_type=co2&bucket=1h&from=2025-06-01T22:30:00Z&to=2025-06-01T23:10:00Z',
    );
    assert.equal(result.from, '2025-06-01T22:00:00.000Z');
    assert.equal(result.to, '2025-06-02T00:00:00.000Z');
  });

  it('when a device is given, then its raw events are bucketed', async () => {
    const result = await series(
      'site_id=site-01&device_id=site-01-zone-01-dev-01&sensor_type=co2&bucket=1h&from=2025-06-01T23:00:00Z&to=2025-06-02T01:00:00Z',
    );
    assert.equal(result.device_id, 'site-01-zone-01-dev-01');
    assert.deepEqual(result.points, [
      { start: '2025-06-01T23:00:00.000Z', count: 2, avg: 500, min: 400, max: 600 },
      { start: '2025-06-02T00:00:00.000Z', count: 1, avg: 800, min: 800, max: 800 },
    ]);
  });

  it('when nothing matches, then the points are empty', async () => {
    const result = await series('site_id=site-09&sensor_type=occupancy');
    assert.deepEqual(result.points, []);
  });

  for (const [label, query, parameter] of [
    ['site_id is missing', 'sensor_type=co2', 'site_id'],
    ['the sensor is unknown', 'site_id=site-01&sensor_type=radon', 'sensor_type'],
    ['the bucket is unknown', 'site_id=site-01&sensor_type=co2&bucket=2h', 'bucket'],
    ['from is not a timestamp', 'site_id=site-01&sensor_type=co2&from=yesterday', 'from'],
    [
      'from is after to',
      'site_id=site-01&sensor_type=co2&from=2025-06-02T00:00:00Z&to=2025-06-01T00:00:00Z',
      'from',
    ],
    [
      'too many buckets are asked for',
      'site_id=site-01&sensor_type=co2&bucket=5m&from=2025-05-01T00:00:00Z&to=2025-06-01T00:00:00Z',
      'bucket',
    ],
    [
      'a device series spans more than 31 days',
      'site_id=site-01&device_id=d1&sensor_type=co2&bucket=1d&from=2025-04-01T00:00:00Z&to=2025-06-01T00:00:00Z',
      'from',
    ],
    ['an unknown parameter is given', 'site_id=site-01&sensor_type=co2&zone=zone-01', 'zone'],
  ] as const) {
    it(`when ${label}, then a 400 problem names ${parameter}`, async () => {
      const response = await fetch(`${api.url}/api/v1/series?${query}`);
      assert.equal(response.status, 400);
      assert.equal((await problemOf(response)).parameter, parameter);
    });
  }
});
