// Bad input of every kind is a 4xx problem, never a 5xx, and changes nothing: NUL and other
// control characters, crafted cursors, methods a path does not have, bodies that are not JSON or
// too large, and absurd numbers; on a real PostgreSQL, where NUL in text would fail the query.
import assert from 'node:assert/strict';
import { toProblem } from '../../src/http/problem.ts';
import { insertAlerts, problemOf, startTestApi, type TestApi } from '../support.ts';

const KEY = 'bad-input-key-0123';
const base64url = (text: string) => Buffer.from(text).toString('base64url');

describe('bad input is a 4xx problem, never a 5xx', () => {
  let api: TestApi;
  let alertId: number;

  before(async () => {
    api = await startTestApi({ auth: { writeKeys: [KEY] }, bodyLimitBytes: 4096 });
    [alertId = 0] = await insertAlerts(api.db.sql, [
      {
        site_id: 'site-01',
        zone_id: 'zone-01',
        sensor_type: 'co2',
        alert_type: 'CO2_HIGH',
        threshold: 1000,
        value: 1200,
        triggered_at: '2025-06-01T12:00:00Z',
      },
    ]);
  });

  after(async () => {
    await api.close();
  });

  function post(path: string, body: string, contentType = 'application/json') {
    return fetch(`${api.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': contentType, authorization: `Bearer ${KEY}` },
      body,
    });
  }

  /** The answer is a problem with `status`; returns it. */
  async function expectProblem(response: Response, status: number, what: string) {
    assert.equal(response.status, status, `${what}: ${await response.clone().text()}`);
    const problem = await problemOf(response);
    assert.equal(problem.status, status, what);
    assert.equal(typeof problem.request_id, 'string', what);
    return problem;
  }

  it('when an acknowledge or resolve carries NUL or another control character, then 400 naming the member, and the alert is unchanged', async () => {
    const bodies = [
      { by: 'ali\u0000ce' },
      { by: '\u0000' },
      { by: 'alice', comment: 'on \u0000 it' },
      { by: 'bob\u001b[31m' },
      { by: 'line\nbreak' },
      { by: 'alice', comment: 'bell\u0007' },
    ];
    for (const action of ['acknowledge', 'resolve']) {
      for (const body of bodies) {
        const response = await post(`/api/v1/alerts/${alertId}/${action}`, JSON.stringify(body));
        const problem = await expectProblem(response, 400, `${action} ${JSON.stringify(body)}`);
        assert.match(String(problem.pointer), /^\/(by|comment)$/);
      }
    }
    const [row] = await api.db.sql<{ status: string; acknowledged_by: string | null }[]>`
      select status, acknowledged_by from telemetry_alerts where alert_id = ${alertId}`;
    assert.deepEqual({ ...row }, { status: 'open', acknowledged_by: null });

    // A comment may run over lines; the action then goes through.
    const ok = await post(
      `/api/v1/alerts/${alertId}/acknowledge`,
      JSON.stringify({ by: 'alice', comment: 'line 1\nline 2\twith a tab' }),
    );
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal(((await ok.json()) as { comment: string }).comment, 'line 1\nline 2\twith a tab');
  });

  it('when a query or path parameter holds NUL, a control character or broken percent-encoding, then 400', async () => {
    const paths = [
      '/api/v1/sites/%00',
      '/api/v1/sites/site%0001',
      '/api/v1/devices/dev%00ice',
      '/devices/%00',
      '/api/v1/alerts/%00',
      '/api/v1/sites/%E0%A4%A',
      '/api/v1/alerts?site_id=%00',
      '/api/v1/alerts?zone_id=zone%1b',
      '/api/v1/alerts?status=open%00',
      '/api/v1/alerts?from=2025-06-01T00:00:00Z%00',
      '/api/v1/alerts?cursor=%00',
      '/api/v1/alerts?%00=1',
      '/api/v1/series?site_id=site-01%00&sensor_type=co2',
      '/trends?sensor_type=co2&zone_id=%00',
      '/kpis/live?site_id=%00',
      '/utilization/heatmap?site_id=%7F',
    ];
    for (const path of paths) await expectProblem(await fetch(`${api.url}${path}`), 400, path);
  });

  it('when a cursor is crafted (garbage, base64 of other JSON, huge or negative values), then 400 naming cursor', async () => {
    const cursors = [
      'not-a-cursor',
      base64url('{"a":1}'),
      base64url('[1,2,3]'),
      base64url('["x",1]'),
      base64url('[1e400,1]'),
      base64url('[9007199254740993,1]'),
      base64url('[8640000000000001,1]'),
      base64url('[-1,5]'),
      base64url('[1700000000000,-5]'),
      base64url('[1700000000000,0]'),
      'x'.repeat(201),
    ];
    for (const cursor of cursors) {
      const response = await fetch(`${api.url}/api/v1/alerts?cursor=${encodeURIComponent(cursor)}`);
      const problem = await expectProblem(response, 400, cursor);
      assert.equal(problem.parameter, 'cursor', cursor);
    }
  });

  it('when a path is asked with a method it does not have, then 405 problem with Allow listing its methods', async () => {
    const cases: [string, string, string][] = [
      ['DELETE', '/api/v1/sites', 'GET, HEAD, OPTIONS'],
      ['PUT', '/api/v1/alerts/1', 'GET, HEAD, OPTIONS'],
      ['GET', `/api/v1/alerts/${alertId}/acknowledge`, 'POST, OPTIONS'],
      ['PATCH', '/api/v1/events', 'POST, OPTIONS'],
      ['POST', '/kpis/live', 'GET, HEAD, OPTIONS'],
      ['DELETE', '/health/ready', 'GET, HEAD, OPTIONS'],
      ['POST', '/openapi.json', 'GET, HEAD, OPTIONS'],
      ['PUT', '/metrics', 'GET, HEAD, OPTIONS'],
    ];
    for (const [method, path, allow] of cases) {
      const response = await fetch(`${api.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${KEY}` },
      });
      const problem = await expectProblem(response, 405, `${method} ${path}`);
      assert.equal(response.headers.get('allow'), allow, `${method} ${path}`);
      assert.match(String(problem.type), /method-not-allowed$/);
    }
    // OPTIONS is answered by express's router, with the same methods.
    const options = await fetch(`${api.url}/api/v1/events`, { method: 'OPTIONS' });
    assert.equal(options.status, 200);
    assert.equal(options.headers.get('allow'), 'POST');
    // A path that does not exist at all stays a 404.
    await expectProblem(await fetch(`${api.url}/api/v1/nothing`, { method: 'DELETE' }), 404, '404');
  });

  it('when a body is not JSON, of another media type, missing or too large, then 400, 415 or 413', async () => {
    const events = '/api/v1/events';
    const malformed = await expectProblem(await post(events, '{"site_id": '), 400, 'malformed');
    assert.match(String(malformed.type), /invalid-body$/);
    assert.match(String(malformed.detail), /^the body is not valid JSON/);
    await expectProblem(await post(events, '"just a string"'), 400, 'a JSON string');
    await expectProblem(await post(events, 'null'), 400, 'null');

    const wrongType = await expectProblem(
      await post(events, 'site_id=1', 'text/plain'),
      415,
      'text',
    );
    assert.match(String(wrongType.detail), /application\/json/);
    await expectProblem(
      await post(
        `/api/v1/alerts/${alertId}/resolve`,
        'by=alice',
        'application/x-www-form-urlencoded',
      ),
      415,
      'a form',
    );
    const charset = await post(events, '{}', 'application/json; charset=latin-9');
    await expectProblem(charset, 415, 'an unknown charset');

    const none = await fetch(`${api.url}/api/v1/alerts/${alertId}/resolve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
    });
    await expectProblem(none, 400, 'no body');

    const large = await post(events, JSON.stringify({ pad: 'x'.repeat(5000) }));
    const problem = await expectProblem(large, 413, 'too large');
    assert.equal(problem.detail, 'the body is larger than 4096 bytes');
  });

  it('when PostgreSQL itself refuses a value (NUL in text, a date out of its range), then the problem is a 400', async () => {
    const refusals = [
      () => api.db.sql`select ${'a\u0000b'}::text`,
      () => api.db.sql`select ${'0000-01-01T00:00:00Z'}::timestamptz`,
      () => api.db.sql`select ${'1e400'}::float8`,
    ];
    for (const refuse of refusals) {
      const error = await refuse().then(
        () => assert.fail('PostgreSQL took the value'),
        (refused: unknown) => refused,
      );
      assert.match(String((error as { code?: unknown }).code), /^22/);
      const problem = toProblem(error);
      assert.equal(problem.status, 400);
      assert.match(String(problem.detail), /^a value in the request is not valid \(SQLSTATE 22/);
    }
  });

  it('when numbers are absurd (huge, negative, not integers, not finite), then 400 or 422, never 500', async () => {
    const reads = [
      '/api/v1/alerts?limit=1e999',
      '/api/v1/alerts?limit=99999999999999999999',
      '/api/v1/alerts?limit=-1',
      '/api/v1/alerts?limit=1.5',
      '/api/v1/alerts?limit=NaN',
      '/api/v1/alerts/99999999999999999999',
      '/api/v1/alerts/-1',
      '/api/v1/alerts/0x10',
      '/alerts/recent?limit=Infinity',
      '/api/v1/alerts?from=0000-01-01T00:00:00Z',
      '/api/v1/series?site_id=site-01&sensor_type=co2&from=0001-01-01T00:00:00Z',
      '/api/v1/devices/dev-1?from=9999-12-31T23:59:59Z&to=9999-12-31T23:59:59.999Z',
    ];
    for (const path of reads) {
      const response = await fetch(`${api.url}${path}`);
      assert.ok(response.status >= 400 && response.status < 500, `${path}: ${response.status}`);
      await problemOf(response);
    }
    const huge = JSON.stringify({
      device_id: 'site-01-zone-01-dev-01',
      site_id: 'site-01',
      zone_id: 'zone-01',
      sensor_type: 'co2',
    });
    for (const value of ['1e400', '-1e400', '1e308', '123456789012345678901234567890']) {
      const body = `${huge.slice(0, -1)},"value":${value}}`;
      await expectProblem(await post('/ingest', body), 422, `value ${value}`);
    }
  });
});
