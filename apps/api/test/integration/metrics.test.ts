// /metrics exports what the API dashboard and the latency rule query (charts/telemetrypulse/
// files): the request histogram by route template and status, requests in flight, and the live
// stream gauge every API panel joins on.
import assert from 'node:assert/strict';
import { createMetricsRegistry } from '@telemetrypulse/shared';
import { SseReader } from '../sse.ts';
import { type LiveTestApi, startLiveTestApi } from '../support.ts';

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The value of the sample with exactly these labels (the service label is implied). */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = JSON.stringify(Object.entries({ ...labels, service: 'api' }).sort());
  for (const line of text.split('\n')) {
    const match = SAMPLE.exec(line);
    if (!match || match[1] !== name) continue;
    const found = [...(match[2] ?? '').matchAll(LABEL)].map((m) => [m[1], m[2]]);
    if (JSON.stringify(found.sort()) === wanted) return Number(match[3]);
  }
  return undefined;
}

describe('api metrics (real PostgreSQL)', () => {
  let api: LiveTestApi;

  const scrape = async (): Promise<string> => {
    const response = await fetch(`${api.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    return response.text();
  };

  before(async () => {
    api = await startLiveTestApi({ registry: createMetricsRegistry('api') });
  });

  after(() => api.close());

  it('when nothing streams, then the live client gauge is exported at 0 with the service label', async () => {
    const text = await scrape();
    assert.match(text, /# TYPE telemetry_api_sse_clients gauge/);
    assert.equal(sample(text, 'telemetry_api_sse_clients'), 0);
  });

  it('when requests were served, then the histogram counts them by method, route template and status', async () => {
    await (await fetch(`${api.url}/api/v1/sites`)).arrayBuffer();
    await (await fetch(`${api.url}/api/v1/sites/site-metrics-none`)).arrayBuffer();
    await (await fetch(`${api.url}/api/v1/sites/site-metrics-none`)).arrayBuffer();
    const text = await scrape();
    assert.match(text, /# TYPE http_request_duration_seconds histogram/);
    const count = (route: string, status: string) =>
      sample(text, 'http_request_duration_seconds_count', {
        method: 'GET',
        route,
        status_code: status,
      });
    assert.equal(count('/api/v1/sites', '200'), 1);
    // The template, never the raw path: one series however many sites are asked for.
    assert.equal(count('/api/v1/sites/:site_id', '404'), 2);
    assert.doesNotMatch(text, /site-metrics-none/);
    assert.equal(
      sample(text, 'http_request_duration_seconds_bucket', {
        le: '+Inf',
        method: 'GET',
        route: '/api/v1/sites/:site_id',
        status_code: '404',
      }),
      2,
    );
  });

  it('when a live stream is open, then it counts as a live client and as a request in flight until it ends', async () => {
    const reader = new SseReader();
    api.readers.push(reader);
    const response = await reader.open(`${api.url}/api/v1/live`);
    assert.equal(response.status, 200);
    await reader.until('the stream to open', () => reader.comments.includes('connected'));

    const open = await scrape();
    assert.equal(sample(open, 'telemetry_api_sse_clients'), 1);
    // The stream and the scrape itself.
    assert.equal(sample(open, 'http_requests_in_flight'), 2);

    reader.close();
    // The server sees the client go a moment later: scrape until it has.
    const ended = (text: string) =>
      sample(text, 'telemetry_api_sse_clients') === 0 &&
      sample(text, 'http_requests_in_flight') === 1;
    let closed = open;
    for (let i = 0; i < 100 && !ended(closed); i++) {
      await new Promise((r) => setTimeout(r, 50));
      closed = await scrape();
    }
    assert.equal(sample(closed, 'telemetry_api_sse_clients'), 0);
    assert.equal(sample(closed, 'http_requests_in_flight'), 1);
    // The dashboards leave the stream out of latency by exactly this route label.
    assert.equal(
      sample(closed, 'http_request_duration_seconds_count', {
        method: 'GET',
        route: '/api/v1/live',
        status_code: '200',
      }),
      1,
    );
  });

  it('then the process metrics the API dashboard shows are exported', async () => {
    const text = await scrape();
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      assert.notEqual(sample(text, name), undefined, name);
    }
  });
});
