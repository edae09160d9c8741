import assert from 'node:assert/strict';
import { insertAlerts, insertWindows, startTestApi, window, type TestApi } from '../support.ts';

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
