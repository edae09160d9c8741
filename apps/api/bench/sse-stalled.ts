// Live-stream memory benchmark on this machine with a real PostgreSQL: the real API program (its
// own process) serves BENCH_CLIENTS (default 200) live streams that never read, each from its own
// loopback address (127.0.x.y; Linux routes all of 127/8 to lo), plus one client that reads,
// while the processor's store writes events as fast as it can (each store is a change every
// stream is sent). Prints JSON: the API's RSS before the clients, once they are connected, at
// its peak while events flow and after; the streams the API dropped (by reason); what the
// reading client received.
// Usage: node_modules/.bin/node apps/api/bench/sse-stalled.ts
// BENCH_CLIENTS, BENCH_SECONDS (default 30), BENCH_MAX_UNSENT_BYTES (the API's
// LIVE_MAX_UNSENT_BYTES; default: its default).
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ALERT_RULES, MINUTE_MS, schemaDefault } from '@telemetrypulse/shared';
import {
  freePort,
  migratedSql,
  startChild,
  startPostgresServer,
  syntheticEvents,
  waitFor,
} from '@telemetrypulse/devstack/test';
import { storeBatch } from '@telemetrypulse/processor/testing';
import { ApiConfigSchema } from '../src/config.ts';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const SITES = Array.from({ length: 20 }, (_, i) => `site-${String(i + 1).padStart(2, '0')}`);
/** Readings per site per store: an hour of them, so each change carries a dozen windows. */
const PER_SITE = 100;
const MAX_UNSENT_BYTES = Number(
  process.env.BENCH_MAX_UNSENT_BYTES ?? schemaDefault(ApiConfigSchema, 'LIVE_MAX_UNSENT_BYTES'),
);

const mb = (bytes: number) => Math.round(bytes / 104_857.6) / 10;
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The resident set of a process, from /proc (bytes). */
function rss(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1] ?? 0) * 1024;
}

/** The i-th client's own loopback address: 127.0.0.2, 127.0.0.3, ... 127.0.1.2, ... */
const addressOf = (i: number) => `127.0.${Math.floor(i / 250)}.${(i % 250) + 2}`;

/** A live stream that is never read: what the API sends it piles up. */
function stalledStream(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress }, () => {
      socket.write('GET /api/v1/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      socket.pause();
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** A client that reads its stream: bytes and events received. */
function readingStream(url: string, signal: AbortSignal) {
  const received = { bytes: 0, events: 0 };
  const done = fetch(url, { signal }).then(async (response) => {
    if (!response.body) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        received.bytes += chunk.byteLength;
        // Every live event's block has an event line (a chunk may cut one: a close count).
        received.events += decoder.decode(chunk, { stream: true }).split('event: ').length - 1;
      }
    } catch {
      // aborted at the end
    }
  });
  return { received, done };
}

/** A metric's value per `reason` (or under '' without one) from a Prometheus text page. */
function byReason(text: string, name: string): Record<string, number> {
  const values: Record<string, number> = {};
  for (const match of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) {
    const reason = /reason="([^"]+)"/.exec(match[1] ?? '')?.[1] ?? '';
    values[reason] = Number(match[2]);
  }
  return values;
}

/** The API's JS heap in use plus its buffers outside the heap, from its own metrics (bytes). */
async function heapUsed(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name: string) => byReason(text, name)[''] ?? 0;
  return value('nodejs_heap_size_used_bytes') + value('nodejs_external_memory_bytes');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-bench-sse-'));
  // PostgreSQL runs as an unprivileged user when we are root: it must be able to enter the folder.
  chmodSync(dir, 0o755);
  const pg = await startPostgresServer({ dataDir: path.join(dir, 'pg'), port: await freePort() });
  const sql = await migratedSql(pg.url, 'bench');
  const port = await freePort();
  const api = startChild({
    name: 'api',
    command: process.execPath,
    args: [fileURLToPath(new URL('../src/main.ts', import.meta.url))],
    env: {
      ...process.env,
      DATABASE_URL: pg.url,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      LOG_LEVEL: 'error',
      RATE_LIMIT_PER_MINUTE: '0',
      LIVE_MAX_UNSENT_BYTES: String(MAX_UNSENT_BYTES),
      // No Kafka here: the stream is fed from PostgreSQL.
      KAFKA_BROKERS: `127.0.0.1:${await freePort()}`,
    },
    logFile: path.join(dir, 'api.log'),
  });
  const base = `http://127.0.0.1:${port}`;
  const sockets: net.Socket[] = [];
  const reading = new AbortController();
  try {
    await waitFor('api', async () => (await fetch(`${base}/health/ready`)).ok, 30_000);
    await wait(2000);
    const rssBefore = rss(api.pid);

    const reader = readingStream(`${base}/api/v1/live`, reading.signal);
    for (let i = 0; i < CLIENTS; i++) sockets.push(await stalledStream(port, addressOf(i)));
    await waitFor(
      'the streams to open',
      async () =>
        byReason(await (await fetch(`${base}/metrics`)).text(), 'telemetry_api_sse_clients')[''] ===
        CLIENTS + 1,
      30_000,
    );
    const rssConnected = rss(api.pid);
    const heapConnected = await heapUsed(base);

    let peak = rssConnected;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rss(api.pid));
    }, 100);
    let stored = 0;
    const started = performance.now();
    while (performance.now() - started < SECONDS * 1000) {
      const events = SITES.flatMap((site) => syntheticEvents(PER_SITE, site, 55 * MINUTE_MS));
      await storeBatch(sql, events, DEFAULT_ALERT_RULES);
      stored += events.length;
    }
    const flowSeconds = (performance.now() - started) / 1000;
    // What is still in flight (coalesced changes, the last reads) is sent, then it settles.
    await wait(5000);
    clearInterval(sampler);
    const rssAfter = rss(api.pid);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const heapAfter = await heapUsed(base);

    process.stdout.write(
      `${JSON.stringify(
        {
          machine: { cpus: (await import('node:os')).cpus().length },
          load: {
            stalled_clients: CLIENTS,
            seconds: Math.round(flowSeconds * 10) / 10,
            events_stored: stored,
            events_per_second: Math.round(stored / flowSeconds),
            max_unsent_bytes: MAX_UNSENT_BYTES,
          },
          api_rss_mb: {
            before: mb(rssBefore),
            clients_connected: mb(rssConnected),
            peak: mb(peak),
            after: mb(rssAfter),
          },
          // RSS seldom shrinks once grown (the allocators keep freed pages); what the JS heap
          // and buffers still use shows whether the stalled streams' data was let go.
          api_heap_and_buffers_mb: {
            clients_connected: mb(heapConnected),
            after: mb(heapAfter),
          },
          streams: {
            dropped: byReason(metrics, 'telemetry_api_sse_streams_dropped_total'),
            open_after: byReason(metrics, 'telemetry_api_sse_clients')[''],
          },
          reading_client: {
            live_events: reader.received.events,
            mb_received: mb(reader.received.bytes),
          },
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    reading.abort();
    for (const socket of sockets) socket.destroy();
    await api.stop(10_000);
    await sql.end({ timeout: 5 });
    await pg.stop();
    if (!process.env.KEEP_BENCH_DIR) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
