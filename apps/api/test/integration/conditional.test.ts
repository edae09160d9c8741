import assert from 'node:assert/strict';
import {
  insertAlerts,
  insertRawEvents,
  insertWindows,
  startTestApi,
  window,
  type TestApi,
} from '../support.ts';

// Within one 5-minute and one hourly bucket for the whole test, so moving the clock changes only
// what the cache has to say, not which buckets a view covers.
const START = Date.parse('2025-06-02T00:10:30Z');
const FIVE_MINUTES = '/api/v1/series?site_id=site-01&sensor_type=co2';
const HOURLY = '/api/v1/series?site_id=site-01&sensor_type=co2&bucket=1h';

describe('cached views: ETag and If-None-Match', () => {
  let api: TestApi;
  let clock = START;

  const get = (path: string, etag?: string) =>
    fetch(`${api.url}${path}`, { headers: etag ? { 'If-None-Match': etag } : {} });
  const etagOf = async (path: string): Promise<string> => {
    const response = await get(path);
    assert.equal(response.status, 200, await response.clone().text());
    const etag = response.headers.get('etag');
    assert.ok(etag, 'no ETag');
    return etag;
  };
  /** Past the TTL and the stale window, so the next request waits for a fresh answer. */
  const expire = (ms: number) => {
    clock += ms + 1000 + 1;
  };

  before(async () => {
    api = await startTestApi({
      now: () => clock,
      readCacheTtlMs: 1000,
      readCacheCoarseTtlMs: 10_000,
    });
    await insertWindows(api.db.sql, [
      window('site-01/zone-01/co2', '2025-06-01T23:55:00Z', [2, 1000, 480, 520]),
    ]);
    await insertWindows(
      api.db.sql,
      [window('site-01/zone-01/co2', '2025-06-01T23:00:00Z', [2, 800, 390, 410])],
      '15m',
    );
    await insertAlerts(api.db.sql, [
      {
        site_id: 'site-01',
        zone_id: 'zone-01',
        sensor_type: 'co2',
        alert_type: 'co2_high',
        threshold: 1000,
        value: 1200,
        triggered_at: '2025-06-01T23:00:00Z',
      },
    ]);
  });

  after(async () => {
    await api.close();
  });

  it('when a view is asked for with the ETag of its answer, then it answers 304 without a body', async () => {
    const response = await get(FIVE_MINUTES);
    const etag = response.headers.get('etag') ?? '';
    assert.match(etag, /^W\/"[0-9a-f]+-[A-Za-z0-9+/]{27}"$/);
    assert.equal(response.headers.get('content-length'), String((await response.bytes()).length));

    const again = await get(FIVE_MINUTES, etag);
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
    assert.equal(again.headers.get('etag'), etag);
  });

  it('when a cached answer is served again or refreshed to the same data, then its ETag stays', async () => {
    const etag = await etagOf(FIVE_MINUTES);
    assert.equal(await etagOf(FIVE_MINUTES), etag);
    expire(1000);
    assert.equal(await etagOf(FIVE_MINUTES), etag);
    assert.equal((await get(FIVE_MINUTES, etag)).status, 304);
  });

  it('when the data changes and the answer is refreshed, then the ETag changes and the old one gets 200', async () => {
    const etag = await etagOf(FIVE_MINUTES);
    await insertWindows(api.db.sql, [
      window('site-01/zone-02/co2', '2025-06-02T00:05:00Z', [1, 700, 700, 700]),
    ]);
    // Still cached: the same answer.
    assert.equal((await get(FIVE_MINUTES, etag)).status, 304);
    expire(1000);
    const response = await get(FIVE_MINUTES, etag);
    assert.equal(response.status, 200);
    assert.notEqual(response.headers.get('etag'), etag);
    const body = (await response.json()) as { points: { start: string }[] };
    assert.equal(body.points.at(-1)?.start, '2025-06-02T00:05:00.000Z');
  });

  it('when an hourly series changes, then it is served unchanged for READ_CACHE_COARSE_TTL_MS, then refreshed', async () => {
    const etag = await etagOf(HOURLY);
    await insertWindows(
      api.db.sql,
      [window('site-01/zone-01/co2', '2025-06-02T00:00:00Z', [4, 2000, 450, 550])],
      '15m',
    );
    expire(1000);
    assert.equal((await get(HOURLY, etag)).status, 304);
    expire(10_000);
    const response = await get(HOURLY, etag);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { points: { start: string; count: number }[] };
    assert.deepEqual(
      body.points.map((p) => [p.start, p.count]),
      [
        ['2025-06-01T23:00:00.000Z', 2],
        ['2025-06-02T00:00:00.000Z', 4],
      ],
    );
  });

  it('when the other polled views are asked for with their ETag, then they answer 304', async () => {
    for (const path of [
      '/kpis/live',
      '/trends?sensor_type=co2',
      '/utilization/heatmap',
      '/api/v1/alerts?site_id=site-01',
    ]) {
      const etag = await etagOf(path);
      assert.equal((await get(path, etag)).status, 304, path);
    }
  });
});

describe('cached views: sites and devices', () => {
  let api: TestApi;
  const clock = START;
  let fresh = 0;
  const reading = (site: string, device: string, value: number, at = '2025-06-02T00:05:00Z') => ({
    device_id: device,
    site_id: site,
    zone_id: 'zone-01',
    sensor_type: 'co2',
    value,
    ts_event: at,
  });
  const registerSite = (site: string) =>
    api.db.sql`insert into sites (site_id, last_event_at) values (${site}, ${new Date(START)})`;

  before(async () => {
    api = await startTestApi({ now: () => clock, readCacheTtlMs: 60_000 });
    await registerSite('site-01');
    await insertRawEvents(api.db.sql, [reading('site-01', 'dev-1', 500)]);
  });

  after(async () => {
    await api.close();
  });

  it('when a site or device view is asked for again within the TTL, then it is the same answer and 304 for its ETag', async () => {
    for (const path of [
      '/api/v1/sites',
      '/api/v1/sites/site-01',
      '/api/v1/devices/dev-1',
      '/devices/dev-1',
    ]) {
      const first = await fetch(`${api.url}${path}`);
      assert.equal(first.status, 200, path);
      const etag = first.headers.get('etag') ?? '';
      assert.ok(etag, `${path}: no ETag`);
      const body = await first.text();
      // New data within the TTL, which each of these views shows once refreshed (a new device
      // for the list, a newer and higher reading of dev-1 for the others): the cached answer is
      // served, not a new query.
      fresh += 1;
      await insertRawEvents(api.db.sql, [
        reading('site-01', `dev-new-${fresh}`, 600),
        reading('site-01', 'dev-1', 700 + fresh, `2025-06-02T00:0${5 + fresh}:00Z`),
      ]);
      const again = await fetch(`${api.url}${path}`);
      assert.equal(await again.text(), body, path);
      assert.equal(
        (await fetch(`${api.url}${path}`, { headers: { 'If-None-Match': etag } })).status,
        304,
        path,
      );
    }
  });

  it('when a site or device was not found, then that is not cached: it shows once it reports', async () => {
    assert.equal((await fetch(`${api.url}/api/v1/sites/site-02`)).status, 404);
    assert.equal((await fetch(`${api.url}/api/v1/devices/dev-2`)).status, 404);
    await registerSite('site-02');
    await insertRawEvents(api.db.sql, [reading('site-02', 'dev-2', 600)]);
    assert.equal((await fetch(`${api.url}/api/v1/sites/site-02`)).status, 200);
    assert.equal((await fetch(`${api.url}/api/v1/devices/dev-2`)).status, 200);
  });
});

describe('uncached views: ETag and If-None-Match', () => {
  let api: TestApi;

  before(async () => {
    api = await startTestApi({ now: () => START });
  });

  after(async () => {
    await api.close();
  });

  it('when caching is off, then an unchanged answer still gets 304 for its ETag', async () => {
    const first = await fetch(`${api.url}${FIVE_MINUTES}`);
    const etag = first.headers.get('etag') ?? '';
    assert.ok(etag);
    const again = await fetch(`${api.url}${FIVE_MINUTES}`, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
  });
});
