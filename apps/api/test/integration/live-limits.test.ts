import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Registry } from 'prom-client';
import { MINUTE_MS } from '@telemetrypulse/shared';
import {
  createTestDatabase,
  createTestTopics,
  produceEvents,
  rawCounts,
  syntheticEvents,
  type TestDatabase,
  type TestTopics,
  waitUntil,
} from '@telemetrypulse/devstack/test';
import { startTestProcessor, type TestProcessor } from '@telemetrypulse/processor/testing';
import { startLiveHub, type LiveHub } from '../../src/live/hub.ts';
import { SseReader } from '../sse.ts';
import { logger, startTestApi, type TestApi } from '../support.ts';

const KEY = 'limits-read-key-0123456789';
const STALLED = 12;
const PER_CLIENT = 2;
// The default: a round of publishing sends each stream ~190 KB, which a reading client takes in time.
const MAX_UNSENT = 256 * 1024;
const SITES = Array.from({ length: 20 }, (_, i) => `site-${String(i + 1).padStart(2, '0')}`);

/**
 * A stream opened from `localAddress` (Linux routes all of 127/8 to lo) that is read up to its
 * first cursor (`id:`) and never again: what the server sends then piles up in the kernel, then
 * in the API.
 */
function stalledStream(
  url: string,
  localAddress: string,
): Promise<{ socket: net.Socket; cursor: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port), localAddress }, () => {
      socket.write(`GET /api/v1/live HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
    });
    let text = '';
    const read = (chunk: Buffer) => {
      text += chunk.toString();
      const cursor = /\nid: (\S+)\n/.exec(text)?.[1];
      if (cursor === undefined) return;
      socket.off('data', read);
      socket.pause();
      resolve({ socket, cursor });
    };
    socket.on('data', read);
    socket.once('error', reject);
  });
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Closes a stream that was admitted (200). */
  close(): void;
}

/** GET from `localAddress`; a 200 stream is left open (its first bytes are read), others read whole. */
function getFrom(
  url: string,
  localAddress: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { localAddress, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      const answer = (): Answer => ({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body,
        close: () => req.destroy(),
      });
      if (res.statusCode === 200) {
        res.once('data', (chunk: string) => {
          body += chunk;
          resolve(answer());
        });
        return;
      }
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        resolve(answer());
      });
    });
    req.once('error', reject);
  });
}

async function metric(url: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return Number(line?.split(' ').at(-1) ?? Number.NaN);
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('live streams under stalled clients and stream caps', function () {
  // Publishing until a dozen streams overflow is real work for a busy machine.
  this.timeout(300_000);
  let db: TestDatabase;
  let topics: TestTopics;
  let processor: TestProcessor;
  let hub: LiveHub;
  let api: TestApi;
  const sockets: net.Socket[] = [];
  const readers: SseReader[] = [];
  const answers: Answer[] = [];
  let produced = 0;

  before(async () => {
    db = await createTestDatabase();
    topics = await createTestTopics();
    processor = await startTestProcessor(db, topics, `api-live-limits-${randomUUID()}`);
    const registry = new Registry();
    hub = await startLiveHub({
      sql: db.sql,
      logger,
      coalesceMs: 50,
      limits: {
        maxStreamsPerClient: PER_CLIENT,
        maxUnsentBytes: MAX_UNSENT,
        knownKeys: [KEY],
        registry,
      },
    });
    api = await startTestApi({ live: hub, registry, auth: { readKeys: [KEY] } }, db);
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    for (const reader of readers) reader.close();
    for (const answer of answers) answer.close();
    await hub.close();
    await api.close();
    await processor.stop();
    await db.drop();
  });

  /** Publishes rounds of events for every site through Kafka until `done`, or gives up. */
  async function publishUntil(what: string, done: () => boolean): Promise<void> {
    for (let round = 0; round < 100; round++) {
      // An hour of readings per site: each aggregates event carries every window of it.
      const events = SITES.flatMap((site) => syntheticEvents(200, site, 55 * MINUTE_MS));
      await produceEvents(topics.events, events);
      produced += events.length;
      // Let the processor store them (each store is an aggregates event for every stream).
      for (let i = 0; i < 10 && !done(); i++) await wait(100);
      if (done()) return;
    }
    assert.fail(`gave up publishing before ${what} (${hub.clients()} streams open)`);
  }

  it('when many clients open the stream and never read while events flow, then their streams are ended and counted, other clients still connect and receive events, and a dropped one resumes from its cursor', async () => {
    const reader = new SseReader();
    readers.push(reader);
    assert.equal((await reader.open(`${api.url}/api/v1/live`)).status, 200);
    const cursors: string[] = [];
    for (let x = 2; x < 2 + STALLED; x++) {
      const { socket, cursor } = await stalledStream(api.url, `127.0.0.${x}`);
      sockets.push(socket);
      cursors.push(cursor);
    }
    while (hub.clients() < STALLED + 1) await wait(20);
    const droppedBefore = await metric(
      api.url,
      'telemetry_api_sse_streams_dropped_total',
      'reason="slow_client"',
    );

    await publishUntil('the stalled streams were ended', () => hub.clients() === 1);

    const dropped = await metric(
      api.url,
      'telemetry_api_sse_streams_dropped_total',
      'reason="slow_client"',
    );
    assert.equal(dropped - droppedBefore, STALLED);
    // The client that reads kept its stream through all of it, and a new one gets in.
    assert.equal(reader.ended, false);
    assert.ok(reader.events.some((e) => e.event === 'aggregates'));
    const late = new SseReader();
    readers.push(late);
    assert.equal((await late.open(`${api.url}/api/v1/live?site_id=site-07`)).status, 200);
    await publishUntil('the new client received aggregates', () =>
      late.events.some((e) => e.event === 'aggregates' && e.data.includes('"site-07"')),
    );
    // A dropped client reconnects with its cursor and is sent what it missed (from this
    // address, which holds two streams already, once one of them has closed).
    late.close();
    while (hub.clients() > 1) await wait(20);
    // Rounds still being stored would be held during the replay; that path is the unit tests'.
    await waitUntil('every published event is stored', async () => {
      return (await rawCounts(db)).rows >= produced;
    });
    const resumed = new SseReader();
    readers.push(resumed);
    const response = await resumed.open(`${api.url}/api/v1/live`, {
      'last-event-id': cursors[0] ?? '',
    });
    assert.equal(response.status, 200);
    await resumed.until('resumed', () => resumed.events.some((e) => e.event === 'resumed'));
    const summary = JSON.parse(resumed.events.find((e) => e.event === 'resumed')?.data ?? '{}') as {
      windows: number;
      complete: boolean;
    };
    assert.equal(summary.complete, true);
    assert.ok(summary.windows > 0);
  });

  it('when one client opens more streams than its cap, then the next answers 429 with Retry-After; a known API key counts on its own', async () => {
    const url = `${api.url}/api/v1/live`;
    for (let i = 0; i < PER_CLIENT; i++) {
      const open = await getFrom(url, '127.0.0.100');
      answers.push(open);
      assert.equal(open.status, 200);
    }
    const refused = await getFrom(url, '127.0.0.100');
    assert.equal(refused.status, 429);
    assert.match(refused.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.ok(Number(refused.headers['retry-after']) > 0);
    assert.match(
      (JSON.parse(refused.body) as { detail: string }).detail,
      new RegExp(`at most ${PER_CLIENT} live streams per client`),
    );
    // An unknown key buys no allowance of its own; a known one does.
    const unknownKey = await getFrom(url, '127.0.0.100', { 'x-api-key': 'not-a-key-0123456789' });
    assert.equal(unknownKey.status, 429);
    const withKey = await getFrom(url, '127.0.0.100', { authorization: `Bearer ${KEY}` });
    answers.push(withKey);
    assert.equal(withKey.status, 200);
    // Another address is another client.
    const other = await getFrom(url, '127.0.0.101');
    answers.push(other);
    assert.equal(other.status, 200);
    // A stream that closes gives its place back.
    answers.shift()?.close();
    let again: Answer | undefined;
    while (again?.status !== 200) {
      again = await getFrom(url, '127.0.0.100');
      if (again.status !== 200) await wait(20);
    }
    answers.push(again);
  });

  it('when the replica serves its total of streams, then a new one answers 503 with Retry-After', async () => {
    const total = hub.clients() + 1;
    const small = await startTestApi({ live: hub, liveMaxClients: total }, db);
    try {
      const url = `${small.url}/api/v1/live`;
      const last = await getFrom(url, '127.0.0.150');
      answers.push(last);
      assert.equal(last.status, 200);
      const refused = await getFrom(url, '127.0.0.151');
      assert.equal(refused.status, 503);
      assert.match(refused.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.ok(Number(refused.headers['retry-after']) > 0);
      assert.match(
        (JSON.parse(refused.body) as { detail: string }).detail,
        new RegExp(`at most ${total} live streams are served at once`),
      );
      last.close();
    } finally {
      for (const answer of answers) answer.close();
      answers.length = 0;
      await small.close();
    }
  });
});
