import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { DEFAULT_ALERT_RULES } from '@telemetrypulse/shared';
import { storeBatch } from '@telemetrypulse/processor/testing';
import { SseReader } from '../sse.ts';
import {
  insertAlerts,
  insertWindows,
  type LiveTestApi,
  startLiveTestApi,
  startTestApi,
  type TestApi,
  window,
} from '../support.ts';

const START = Date.parse('2025-06-02T00:10:30Z');
/** A cached view of 12 hours of 5-minute points: about 14 kB of JSON. */
const SERIES = '/api/v1/series?site_id=site-01&sensor_type=co2';
/** Uncached: 30 alerts, several kB. */
const ALERTS = '/alerts?limit=30';

interface Raw {
  status: number;
  headers: IncomingHttpHeaders;
  /** As sent, not decoded. */
  body: Buffer;
}

/** A GET with exactly these headers (fetch adds Accept-Encoding and decodes what comes back). */
function get(url: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
    })
      .on('error', reject)
      .end();
  });
}

const GZIP = { 'Accept-Encoding': 'gzip' };

async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what}: nothing within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function seed(api: TestApi): Promise<void> {
  await insertWindows(
    api.db.sql,
    Array.from({ length: 144 }, (_, i) =>
      window('site-01/zone-01/co2', new Date(START - (i + 1) * 300_000 - 30_000).toISOString(), [
        2,
        900 + i,
        440,
        460 + i,
      ]),
    ),
  );
  await insertAlerts(
    api.db.sql,
    Array.from({ length: 30 }, (_, i) => ({
      site_id: 'site-01',
      zone_id: `zone-${String(i + 1).padStart(2, '0')}`,
      sensor_type: 'co2',
      alert_type: 'CO2_HIGH',
      threshold: 1000,
      value: 1200 + i,
      triggered_at: new Date(START - i * 60_000).toISOString(),
    })),
  );
}

describe('response compression', () => {
  let api: TestApi;

  before(async () => {
    api = await startTestApi({ now: () => START, readCacheTtlMs: 60_000 });
    await seed(api);
  });

  after(async () => {
    await api.close();
  });

  it('when a cached view is asked for with gzip, then it comes gzipped, with Vary, decoding to the identity answer under the same ETag', async () => {
    const plain = await get(`${api.url}${SERIES}`);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.ok(plain.body.length > 10_000, `only ${plain.body.length} bytes`);

    const gzipped = await get(`${api.url}${SERIES}`, GZIP);
    assert.equal(gzipped.status, 200);
    assert.equal(gzipped.headers['content-encoding'], 'gzip');
    assert.match(gzipped.headers.vary ?? '', /Accept-Encoding/i);
    assert.match(plain.headers.vary ?? '', /Accept-Encoding/i);
    assert.match(gzipped.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(Number(gzipped.headers['content-length']), gzipped.body.length);
    assert.ok(gzipped.body.length < plain.body.length / 3, `${gzipped.body.length} bytes gzipped`);
    assert.deepEqual(gunzipSync(gzipped.body), plain.body);
    assert.equal(gzipped.headers.etag, plain.headers.etag);

    // The same copy again, not a new compression.
    assert.deepEqual((await get(`${api.url}${SERIES}`, GZIP)).body, gzipped.body);
  });

  it('when a cached view is asked for with its ETag and gzip, then it answers 304 with Vary and no body', async () => {
    const { headers } = await get(`${api.url}${SERIES}`, GZIP);
    const etag = headers.etag ?? '';
    for (const accept of [GZIP, {}]) {
      const again = await get(`${api.url}${SERIES}`, { ...accept, 'If-None-Match': etag });
      assert.equal(again.status, 304);
      assert.equal(again.body.length, 0);
      assert.equal(again.headers.etag, etag);
      assert.match(again.headers.vary ?? '', /Accept-Encoding/i);
    }
  });

  it('when a client takes only br, gzip refused or nothing named, then a cached view comes as it is', async () => {
    for (const accept of ['br', 'gzip;q=0, identity', 'identity']) {
      const response = await get(`${api.url}${SERIES}`, { 'Accept-Encoding': accept });
      assert.equal(response.status, 200);
      assert.equal(response.headers['content-encoding'], undefined, accept);
      assert.doesNotThrow(() => JSON.parse(response.body.toString()) as unknown);
    }
  });

  it('when a large uncached answer is asked for with gzip, then the middleware compresses it', async () => {
    for (const path of [ALERTS, '/openapi.json']) {
      const plain = await get(`${api.url}${path}`);
      const gzipped = await get(`${api.url}${path}`, GZIP);
      assert.equal(gzipped.status, 200);
      assert.equal(gzipped.headers['content-encoding'], 'gzip', path);
      assert.match(gzipped.headers.vary ?? '', /Accept-Encoding/i);
      assert.deepEqual(
        JSON.parse(gunzipSync(gzipped.body).toString()),
        JSON.parse(plain.body.toString()),
      );
    }
    const br = await get(`${api.url}${ALERTS}`, { 'Accept-Encoding': 'gzip, deflate, br' });
    assert.equal(br.headers['content-encoding'], 'br');
  });

  it('when an answer is under 1 kB (a problem too), then it is sent uncompressed', async () => {
    const problem = await get(`${api.url}/api/v1/sites/nowhere`, GZIP);
    assert.equal(problem.status, 404);
    assert.match(problem.headers['content-type'] ?? '', /^application\/problem\+json/);
    for (const path of ['/health', '/alerts?limit=1', '/api/v1/sites/nowhere']) {
      const response = await get(`${api.url}${path}`, GZIP);
      assert.ok(response.body.length < 1024, path);
      assert.equal(response.headers['content-encoding'], undefined, path);
    }
  });
});

describe('response compression turned off', () => {
  let api: TestApi;

  before(async () => {
    api = await startTestApi({
      now: () => START,
      readCacheTtlMs: 60_000,
      responseCompression: false,
    });
    await seed(api);
  });

  after(async () => {
    await api.close();
  });

  it('when compression is off, then nothing is encoded, cached or not', async () => {
    for (const path of [SERIES, ALERTS, '/openapi.json']) {
      const response = await get(`${api.url}${path}`, GZIP);
      assert.equal(response.status, 200);
      assert.equal(response.headers['content-encoding'], undefined, path);
      assert.doesNotMatch(response.headers.vary ?? '', /Accept-Encoding/i, path);
      assert.ok(response.body.length > 1024, path);
      assert.doesNotThrow(() => JSON.parse(response.body.toString()) as unknown);
    }
  });
});

describe('the live stream with compression on', () => {
  let api: LiveTestApi;

  before(async () => {
    api = await startLiveTestApi({ liveHeartbeatMs: 200 }, { coalesceMs: 50 });
  });

  after(() => api.close());

  it('when a client that takes gzip listens, then the stream is not encoded and events arrive as they happen', async () => {
    const stream = new SseReader();
    api.readers.push(stream);
    // A buffered stream would not even send its headers.
    const response = await within(
      3000,
      'the stream headers',
      stream.open(`${api.url}/api/v1/live?site_id=site-01`, {
        'Accept-Encoding': 'gzip, deflate, br',
      }),
    );
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-encoding'), null);
    await stream.until('the connected comment', () => stream.comments.includes('connected'), 2000);
    await stream.until(
      'two heartbeats',
      () => stream.comments.filter((c) => c === 'heartbeat').length >= 2,
      2000,
    );

    const started = Date.now();
    await storeBatch(
      api.db.sql,
      [
        {
          event_id: randomUUID(),
          device_id: 'site-01-zone-01-dev-01',
          site_id: 'site-01',
          zone_id: 'zone-01',
          sensor_type: 'co2',
          value: 1450,
          ts_event: new Date().toISOString(),
        },
      ],
      DEFAULT_ALERT_RULES,
    );
    await stream.until('an alert', () => stream.events.some((e) => e.event === 'alert'), 3000);
    assert.ok(Date.now() - started < 3000);
  });
});
