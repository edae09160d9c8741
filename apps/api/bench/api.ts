// API benchmark on this machine with a real PostgreSQL: the real API program (its own process)
// serving a database of many raw events and 30 days of aggregates for 3 sites, under a steady
// load of 1,000 requests/s from autocannon. Prints JSON: p50/p99 latency (ms), achieved
// throughput (req/s) and errors per route, plus the seeding figures.
// Usage: npm run bench:api [-- EVENTS]   (default 10,000,000 raw events)
// BENCH_DATABASE_URL: use that database as it is (seeded by an earlier run with KEEP_BENCH_DIR)
// instead of starting and seeding one. BENCH_ONLY: comma-separated result names to run.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import {
  freePort,
  migratedSql,
  startChild,
  startPostgresServer,
  waitFor,
} from '@telemetrypulse/devstack/test';
import { seedAggregates, seedAlerts, seedRawEvents } from './seed.ts';

const events = Number(process.argv[2] ?? 10_000_000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const DAYS = 30;
const ALERTS = 50_000;
const seconds = (since: number) => Math.round((performance.now() - since) / 100) / 10;

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-bench-api-'));
  // PostgreSQL runs as an unprivileged user when we are root: it must be able to enter the folder.
  chmodSync(dir, 0o755);
  const given = process.env.BENCH_DATABASE_URL;
  const pg = given
    ? undefined
    : await startPostgresServer({ dataDir: path.join(dir, 'pg'), port: await freePort() });
  const databaseUrl = given ?? pg?.url ?? '';
  const children: ReturnType<typeof startChild>[] = [];
  const sql = await migratedSql(databaseUrl, 'bench');
  try {
    const now = Date.now();
    let rawSeconds: number | null = null;
    let aggregateSeconds: number | null = null;
    if (!given) {
      let started = performance.now();
      await seedRawEvents(sql, events, DAYS, now);
      rawSeconds = seconds(started);
      started = performance.now();
      await seedAggregates(sql);
      await seedAlerts(sql, ALERTS, DAYS, now);
      await sql`vacuum analyze`;
      aggregateSeconds = seconds(started);
    }
    const [counts] = await sql<{ raw: number; agg_5m: number; agg_15m: number; alerts: number }[]>`
      select (select count(*) from telemetry_events) as raw,
             (select count(*) from telemetry_alerts) as alerts,
             (select count(*) from telemetry_agg_5m) as agg_5m,
             (select count(*) from telemetry_agg_15m) as agg_15m`;

    // The API as deployed (response cache: 1 s for polled views, 10 s for 1h and 1d series), and
    // with the cache off: the second shows what the database and the indexes give on their own.
    const startApi = async (name: string, cacheTtlMs: number) => {
      const port = await freePort();
      const child = startChild({
        name,
        command: process.execPath,
        args: [fileURLToPath(new URL('../src/main.ts', import.meta.url))],
        env: {
          ...process.env,
          DATABASE_URL: databaseUrl,
          DATABASE_POOL_SIZE: '10',
          HTTP_HOST: '127.0.0.1',
          HTTP_PORT: String(port),
          LOG_LEVEL: 'warn',
          RATE_LIMIT_PER_MINUTE: '0',
          READ_CACHE_TTL_MS: String(cacheTtlMs),
          // No Kafka here: reads only.
          KAFKA_BROKERS: `127.0.0.1:${await freePort()}`,
        },
        logFile: path.join(dir, `${name}.log`),
      });
      children.push(child);
      const base = `http://127.0.0.1:${port}`;
      await waitFor(name, async () => (await fetch(`${base}/health/ready`)).ok, 30_000);
      return base;
    };
    const cached = await startApi('api', 1000);
    const uncached = await startApi('api-uncached', 0);

    const from30d = new Date(now - DAYS * 86_400_000).toISOString();
    const routes = {
      kpis_live: '/kpis/live',
      trend_24h_5m: '/api/v1/series?site_id=site-01&sensor_type=co2&bucket=5m',
      trend_30d_1h: `/api/v1/series?site_id=site-01&sensor_type=co2&bucket=1h&from=${encodeURIComponent(from30d)}`,
      alerts_page: '/api/v1/alerts?limit=50&site_id=site-01',
      compat_trends: '/trends?sensor_type=co2',
      compat_alerts: '/alerts?limit=10',
    };
    const targets = ['kpis_live', 'trend_24h_5m', 'trend_30d_1h', 'alerts_page'];
    // autocannon names no encoding, so the runs above get identity; browsers ask for gzip.
    const gzip = { 'accept-encoding': 'gzip' };
    const runs: (readonly [string, string, Record<string, string>])[] = [
      ...Object.entries(routes).map(([name, route]) => [name, `${cached}${route}`, {}] as const),
      ['trend_30d_1h_gzip', `${cached}${routes.trend_30d_1h}`, gzip],
      ...Object.entries(routes)
        .filter(([name]) => targets.includes(name))
        .map(([name, route]) => [`${name}_uncached`, `${uncached}${route}`, {}] as const),
    ];
    const only = process.env.BENCH_ONLY?.split(',');
    const results: Record<string, unknown> = {};
    for (const [name, url, headers] of runs.filter(([name]) => !only || only.includes(name))) {
      const route = url.slice(url.indexOf('/', 'http://'.length));
      const check = await fetch(url);
      if (!check.ok) throw new Error(`${route} answered ${check.status}: ${await check.text()}`);
      await autocannon({ url, headers, connections: 10, duration: 3, overallRate: RATE }); // warm-up
      const result = await autocannon({
        url,
        headers,
        connections: 20,
        duration: SECONDS,
        overallRate: RATE,
      });
      results[name] = {
        route,
        p50_ms: result.latency.p50,
        p99_ms: result.latency.p99,
        max_ms: result.latency.max,
        throughput_rps: result.requests.average,
        requests: result.requests.total,
        // As sent (gzipped for a _gzip run), headers included (a reused database seeded over
        // an hour ago has no live KPIs: `[]`).
        bytes_per_response: Math.round(
          result.throughput.total / Math.max(1, result.requests.total),
        ),
        errors: result.errors + result.timeouts + result.non2xx,
      };
    }
    process.stdout.write(
      `${JSON.stringify(
        {
          machine: { cpus: (await import('node:os')).cpus().length },
          data: {
            raw_events: counts?.raw,
            agg_5m_rows: counts?.agg_5m,
            agg_15m_rows: counts?.agg_15m,
            alerts: counts?.alerts,
            days: DAYS,
            sites: 3,
            seed_raw_seconds: rawSeconds,
            seed_aggregates_seconds: aggregateSeconds,
          },
          load: { target_rps: RATE, seconds: SECONDS, connections: 20 },
          results,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    for (const child of children) await child.stop(10_000);
    await sql.end({ timeout: 5 });
    await pg?.stop();
    if (!process.env.KEEP_BENCH_DIR) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
