import assert from 'node:assert/strict';
import { createTestTopics, testKafka } from '@telemetrypulse/devstack/test';
import { createJsonSchemaValidator } from '@telemetrypulse/shared/json-schema';
import { createKafkaPublisher, type EventPublisher } from '../../src/ingest/publisher.ts';
import { Conformance } from '../conformance.ts';
import {
  insertAlerts,
  insertRawEvents,
  insertWindows,
  logger,
  startTestApi,
  window,
  type TestApi,
} from '../support.ts';

const KEY = 'conformance-key-123';
const NOW = Date.parse('2025-06-01T12:30:00Z');
interface Op {
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}

const device = { device_id: 'site-01-zone-01-dev-01', site_id: 'site-01', zone_id: 'zone-01' };

describe('the OpenAPI document', () => {
  let api: TestApi;
  let publisher: EventPublisher;
  let conformance: Conformance;
  let alertIds: number[];

  before(async () => {
    publisher = createKafkaPublisher({
      kafka: testKafka(),
      topic: (await createTestTopics(1)).events,
      timeoutMs: 10_000,
      logger,
    });
    // The clock is pinned for reads; ingest validates event times against it too.
    api = await startTestApi({ publisher, auth: { writeKeys: [KEY] }, now: () => NOW });
    conformance = new Conformance(api.openApi);
    const sql = api.db.sql;
    await sql`insert into sites (site_id, display_name, last_event_at)
              values ('site-01', 'Head office', '2025-06-01T12:20:00Z')`;
    await insertWindows(sql, [
      window('site-01/zone-01/co2', '2025-06-01T12:20:00Z', [2, 1000, 480, 520]),
      window('site-01/zone-01/occupancy', '2025-06-01T12:20:00Z', [2, 10, 4, 6]),
    ]);
    await insertWindows(
      sql,
      [window('site-01/zone-01/co2', '2025-06-01T12:00:00Z', [2, 1000, 480, 520])],
      '15m',
    );
    await insertRawEvents(sql, [
      { ...device, sensor_type: 'co2', value: 500, ts_event: '2025-06-01T12:20:00Z' },
      { ...device, sensor_type: 'temperature', value: 22, ts_event: '2025-06-01T12:21:00Z' },
    ]);
    alertIds = await insertAlerts(
      sql,
      [1, 2].map((i) => ({
        site_id: 'site-01',
        zone_id: `zone-0${i}`,
        sensor_type: 'co2',
        alert_type: 'CO2_HIGH',
        threshold: 1000,
        value: 1200,
        triggered_at: '2025-06-01T12:00:00Z',
      })),
    );
  });

  after(async () => {
    await api.close();
    await publisher.close();
  });

  async function call(method: string, path: string, body?: unknown, key?: string) {
    const url = `${api.url}${path}`;
    const response = await fetch(url, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    await conformance.check(method, url, response);
    return response;
  }

  it('when it is fetched, then it is a valid OpenAPI 3.1 document with JSON Schemas ajv compiles', async () => {
    const response = await fetch(`${api.url}/openapi.json`);
    assert.equal(response.status, 200);
    const doc = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(doc, JSON.parse(JSON.stringify(api.openApi)));
    assert.ok(Object.keys(doc.paths).includes('/api/v1/alerts/{alert_id}/acknowledge'));
    // Every schema in it compiles as JSON Schema 2020-12 (the 3.1 dialect).
    const ajv = createJsonSchemaValidator();
    const { components } = doc as unknown as { components: { schemas: { Problem: object } } };
    ajv.addSchema(components.schemas.Problem, 'problem');
    for (const [path, operations] of Object.entries(doc.paths as Record<string, object>)) {
      for (const [method, operation] of Object.entries(operations as Record<string, Op>)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          for (const media of Object.values(response.content ?? {})) {
            const schema = JSON.parse(
              JSON.stringify(media.schema).replaceAll(
                '"#/components/schemas/Problem"',
                '"problem"',
              ),
            ) as object;
            assert.doesNotThrow(() => ajv.compile(schema), `${method} ${path} ${status}`);
          }
        }
      }
    }
  });

  it('when the docs page is opened, then swagger-ui is served', async () => {
    const response = await fetch(`${api.url}/docs/`);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /swagger-ui/i);
  });

  it('when every route is called, then each response matches the document', async () => {
    const reads = [
      '/livez',
      '/readyz',
      '/health',
      '/health/live',
      '/health/ready',
      '/health/ready/ingest', // before any event: Kafka not connected yet
      '/kpis/live',
      '/kpis/live?site_id=site-01',
      '/trends?sensor_type=co2',
      '/trends?sensor_type=co2&window=15m&zone_id=zone-01',
      '/alerts/recent',
      '/alerts',
      '/utilization/heatmap',
      '/devices/site-01-zone-01-dev-01',
      '/devices/site-09-zone-01-dev-01',
      '/api/v1/sites',
      '/api/v1/sites/site-01',
      '/api/v1/sites/site-09',
      '/api/v1/devices/site-01-zone-01-dev-01',
      '/api/v1/devices/nobody',
      '/api/v1/series?site_id=site-01&sensor_type=co2',
      '/api/v1/series?site_id=site-01&sensor_type=co2&bucket=1h&zone_id=zone-01',
      '/api/v1/series?site_id=site-01&sensor_type=co2&device_id=site-01-zone-01-dev-01',
      '/api/v1/series?site_id=site-01',
      '/api/v1/alerts?limit=1',
      '/api/v1/alerts?status=open&site_id=site-01',
      '/api/v1/alerts?cursor=bogus',
      `/api/v1/alerts/${alertIds[0]}`,
      '/api/v1/alerts/424242',
      '/api/v1/alerts/x',
    ];
    for (const path of reads) await call('GET', path);
    const series = await call('GET', '/api/v1/series?site_id=site-01&sensor_type=co2');
    const etag = series.headers.get('etag') ?? '';
    const unchanged = await fetch(`${api.url}/api/v1/series?site_id=site-01&sensor_type=co2`, {
      headers: { 'if-none-match': etag },
    });
    assert.equal(unchanged.status, 304);
    await conformance.check('GET', unchanged.url, unchanged);

    const event = { ...device, sensor_type: 'co2', value: 600, ts_event: '2025-06-01T12:29:00Z' };
    await call('POST', '/ingest', event, KEY);
    await call('POST', '/ingest', { ...event, value: -5 }, KEY);
    await call('POST', '/ingest', event);
    await call('POST', '/api/v1/events', [event, { nope: true }], KEY);
    await call('POST', '/api/v1/events', 42, KEY);
    const alert = `/api/v1/alerts/${alertIds[1]}`;
    await call('POST', `${alert}/acknowledge`, { by: 'alice', comment: 'on it' }, KEY);
    await call('POST', `${alert}/acknowledge`, { by: 'alice' }, KEY);
    await call('POST', `${alert}/resolve`, { by: 'alice' }, KEY);
    await call('POST', `${alert}/resolve`, {}, KEY);
    await call('POST', '/api/v1/alerts/424242/resolve', { by: 'alice' }, KEY);
    await call('GET', '/health/ready/ingest'); // after events were queued: ready
  });

  it('when the calls are done, then every documented operation was exercised', () => {
    // The live stream is checked in its own test: it never ends.
    assert.deepEqual(
      conformance.unexercised().filter((op) => op !== 'GET /api/v1/live'),
      [],
    );
  });
});
