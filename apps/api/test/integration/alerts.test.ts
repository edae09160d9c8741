import assert from 'node:assert/strict';
import { insertAlerts, problemOf, startTestApi, type AlertSeed, type TestApi } from '../support.ts';

const KEY = 'ops-key-0123456789';

interface Alert {
  alert_id: number;
  site_id: string;
  zone_id: string;
  status: string;
  severity: string;
  acknowledged_by: string | null;
  acknowledged_at: string | null;
  resolved_by: string | null;
  resolved_at: string | null;
  comment: string | null;
}

interface Page {
  items: Alert[];
  next_cursor: string | null;
}

const seed = (i: number, overrides: Partial<AlertSeed> = {}): AlertSeed => ({
  site_id: i % 2 === 0 ? 'site-01' : 'site-02',
  zone_id: `zone-0${(i % 3) + 1}`,
  sensor_type: 'co2',
  alert_type: `CO2_HIGH_${i}`,
  threshold: 1000,
  value: 1000 + i,
  // One minute apart; two share a time so the id breaks the tie.
  triggered_at: new Date(Date.UTC(2025, 5, 1, 12, Math.min(i, 8))).toISOString(),
  ...overrides,
});

function act(url: string, body: unknown, key: string | null = KEY) {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
    },
    body: JSON.stringify(body),
  });
}

describe('/api/v1/alerts', () => {
  let api: TestApi;
  let ids: number[];
  const page = async (query: string): Promise<Page> => {
    const response = await fetch(`${api.url}/api/v1/alerts?${query}`);
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as Page;
  };

  before(async () => {
    api = await startTestApi({ auth: { writeKeys: [KEY], readKeys: ['reader-key-12345'] } });
  });

  after(async () => {
    await api.close();
  });

  it('when there are no alerts, then the page is empty and has no next cursor', async () => {
    assert.deepEqual(await page(''), { items: [], next_cursor: null });
  });

  describe('with alerts', () => {
    before(async () => {
      ids = await insertAlerts(api.db.sql, [
        ...Array.from({ length: 10 }, (_, i) => seed(i)),
        seed(10, { status: 'resolved', severity: 'critical' }),
      ]);
    });

    it('when paging with the cursor, then every alert comes once, newest first', async () => {
      const seen: number[] = [];
      let cursor: string | null = '';
      let pages = 0;
      while (cursor !== null) {
        const result = await page(`limit=4${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...result.items.map((a) => a.alert_id));
        cursor = result.next_cursor;
        pages += 1;
      }
      assert.equal(pages, 3);
      // 8, 9 and 10 share their time: the higher id comes first.
      assert.deepEqual(seen, [...ids].reverse());
    });

    it('when filtered by status, site, zone, severity and time, then only matches come', async () => {
      const resolved = await page('status=resolved');
      assert.deepEqual(
        resolved.items.map((a) => a.alert_id),
        [ids[10]],
      );
      const critical = await page('severity=critical');
      assert.equal(critical.items.length, 1);
      const site = await page('site_id=site-02&zone_id=zone-02');
      assert.ok(site.items.length > 0);
      assert.ok(site.items.every((a) => a.site_id === 'site-02' && a.zone_id === 'zone-02'));
      const window = await page('from=2025-06-01T12:01:00Z&to=2025-06-01T12:03:00Z');
      assert.deepEqual(
        window.items.map((a) => a.alert_id),
        [ids[2], ids[1]],
      );
    });

    it('when the cursor or a filter is malformed, then a 400 problem names it', async () => {
      for (const [query, parameter] of [
        ['cursor=not-a-cursor', 'cursor'],
        [`cursor=${Buffer.from('{"a":1}').toString('base64url')}`, 'cursor'],
        ['status=closed', 'status'],
        ['severity=urgent', 'severity'],
        ['limit=501', 'limit'],
        ['from=2025-06-02T00:00:00Z&to=2025-06-01T00:00:00Z', 'from'],
        ['sort=asc', 'sort'],
      ]) {
        const response = await fetch(`${api.url}/api/v1/alerts?${query}`);
        assert.equal(response.status, 400, query);
        assert.equal((await problemOf(response)).parameter, parameter, query);
      }
    });

    it('when one alert is asked for, then it comes with its lifecycle fields', async () => {
      const response = await fetch(`${api.url}/api/v1/alerts/${ids[0]}`);
      assert.equal(response.status, 200);
      const alert = (await response.json()) as Alert;
      assert.equal(alert.status, 'open');
      assert.equal(alert.acknowledged_by, null);
    });

    it('when an alert id is unknown or malformed, then 404 or 400', async () => {
      assert.equal((await fetch(`${api.url}/api/v1/alerts/999999`)).status, 404);
      for (const id of ['abc', '1.5', '-1', '99999999999999999999']) {
        const response = await fetch(`${api.url}/api/v1/alerts/${id}`);
        assert.equal(response.status, 400, id);
        assert.equal((await problemOf(response)).parameter, 'alert_id');
      }
    });

    it('when an open alert is acknowledged, then who, when and the comment are recorded', async () => {
      const response = await act(`${api.url}/api/v1/alerts/${ids[0]}/acknowledge`, {
        by: 'alice',
        comment: 'window opened',
      });
      assert.equal(response.status, 200);
      const alert = (await response.json()) as Alert;
      assert.equal(alert.status, 'acknowledged');
      assert.equal(alert.acknowledged_by, 'alice');
      assert.ok(alert.acknowledged_at);
      assert.equal(alert.comment, 'window opened');
    });

    it('when an acknowledged alert is acknowledged again, then 409', async () => {
      const response = await act(`${api.url}/api/v1/alerts/${ids[0]}/acknowledge`, { by: 'bob' });
      assert.equal(response.status, 409);
      assert.match(String((await problemOf(response)).detail), /is acknowledged/);
    });

    it('when an alert is resolved, then it is recorded, keeps its comment, and cannot be resolved twice', async () => {
      const response = await act(`${api.url}/api/v1/alerts/${ids[0]}/resolve`, { by: 'bob' });
      assert.equal(response.status, 200);
      const alert = (await response.json()) as Alert;
      assert.equal(alert.status, 'resolved');
      assert.equal(alert.resolved_by, 'bob');
      assert.ok(alert.resolved_at);
      assert.equal(alert.comment, 'window opened');
      const again = await act(`${api.url}/api/v1/alerts/${ids[0]}/resolve`, { by: 'bob' });
      assert.equal(again.status, 409);
      const ack = await act(`${api.url}/api/v1/alerts/${ids[0]}/acknowledge`, { by: 'bob' });
      assert.equal(ack.status, 409);
    });

    it('when the compat /alerts is asked for after a resolve, then resolved is true', async () => {
      const response = await fetch(`${api.url}/alerts?limit=100`);
      const alerts = (await response.json()) as { alert_id: number; resolved: boolean }[];
      assert.equal(alerts.find((a) => a.alert_id === ids[0])?.resolved, true);
    });

    it('when an unknown alert is acted on, then 404', async () => {
      const response = await act(`${api.url}/api/v1/alerts/999999/resolve`, { by: 'bob' });
      assert.equal(response.status, 404);
    });

    it('when the body lacks who acts or has unknown fields, then a 400 problem points at it', async () => {
      const missing = await act(`${api.url}/api/v1/alerts/${ids[1]}/acknowledge`, {});
      assert.equal(missing.status, 400);
      assert.equal((await problemOf(missing)).pointer, '/by');
      const extra = await act(`${api.url}/api/v1/alerts/${ids[1]}/acknowledge`, {
        by: 'bob',
        status: 'resolved',
      });
      assert.equal(extra.status, 400);
    });

    it('when no key or a read-only key acts, then 401 or 403 and nothing changes', async () => {
      const url = `${api.url}/api/v1/alerts/${ids[1]}/resolve`;
      assert.equal((await act(url, { by: 'mallory' }, null)).status, 401);
      assert.equal((await act(url, { by: 'mallory' }, 'wrong-key')).status, 401);
      assert.equal((await act(url, { by: 'mallory' }, 'reader-key-12345')).status, 403);
      const alert = (await (await fetch(`${api.url}/api/v1/alerts/${ids[1]}`)).json()) as Alert;
      assert.equal(alert.status, 'open');
    });
  });
});

describe('/api/v1/alerts with the response cache on', () => {
  let api: TestApi;

  before(async () => {
    api = await startTestApi({ auth: { writeKeys: [KEY] }, readCacheTtlMs: 60_000 });
  });

  after(async () => {
    await api.close();
  });

  const statuses = async () => {
    const response = await fetch(`${api.url}/api/v1/alerts?site_id=site-01`);
    return ((await response.json()) as Page).items.map((a) => a.status);
  };

  it('when the same page is asked again, then it comes from the cache; an action through the API shows at once', async () => {
    const [id] = await insertAlerts(api.db.sql, [seed(0)]);
    assert.deepEqual(await statuses(), ['open']);
    // Written behind the API's back: the cached page does not see it yet.
    await insertAlerts(api.db.sql, [seed(2)]);
    assert.deepEqual(await statuses(), ['open']);

    const response = await act(`${api.url}/api/v1/alerts/${id}/acknowledge`, { by: 'carol' });
    assert.equal(response.status, 200);
    assert.deepEqual((await statuses()).sort(), ['acknowledged', 'open']);
  });
});
