// Processor benchmark on this machine with a real Kafka broker and a real PostgreSQL. Prints JSON:
// - processor_events_per_s: one processor replica (the real program, as its own process) draining
//   a preloaded topic end to end (consume → validate → raw insert → aggregates → alerts → commit);
// - copy_rows_per_s: COPY of the same rows into the same raw table, the database's ceiling;
// - seed_style_events_per_s: the original's one-event-at-a-time, transaction-per-statement way;
// - p50/p99 event-to-stored latency at a steady 10,000 events/s, and the replica's peak RSS.
// Usage: npm run bench:processor [-- EVENTS]   (default 1,000,000 preloaded events)
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';
import { Registry } from 'prom-client';
import {
  createLogger,
  createSql,
  DEFAULT_LIMITS,
  DEFAULT_MIGRATIONS_DIR,
  ensurePartitions,
  ensureTopics,
  migrate,
  type Sql,
  type TelemetryEvent,
} from '@telemetrypulse/shared';
import { freePort } from '../../devstack/src/ports.ts';
import { startThrowawayPlatform } from '../../devstack/src/test/platform.ts';
import { startSimulator } from '../../simulator/src/publisher.ts';
import { spawnProcessor, type ProcessorProcess } from '../test/processor-process.ts';
import { copyRowsPerSecond, seedStyleEventsPerSecond } from './baselines.ts';
import { histogramQuantile } from './percentiles.ts';
import { syntheticEvents } from './synthetic.ts';

const total = Number(process.argv[2] ?? 1_000_000);
const SEED_STYLE_SAMPLE = 5_000;
const LATENCY_RATE = 10_000;
const LATENCY_SECONDS = 20;
const logger = createLogger('bench', 'warn');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function topicsFor(prefix: string) {
  return { events: `${prefix}.events`, dlq: `${prefix}.dlq`, alerts: `${prefix}.alerts` };
}

async function createTopics(admin: Admin, topics: ReturnType<typeof topicsFor>): Promise<void> {
  await ensureTopics(admin, [
    { topic: topics.events, numPartitions: 12 },
    { topic: topics.dlq, numPartitions: 1 },
    { topic: topics.alerts, numPartitions: 1 },
  ]);
}

async function preload(
  kafka: Kafka,
  topic: string,
  events: readonly TelemetryEvent[],
): Promise<number> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const start = performance.now();
  const chunk = 5000;
  for (let i = 0; i < events.length; i += chunk * 4) {
    const sends = [0, 1, 2, 3]
      .map((j) => events.slice(i + j * chunk, i + (j + 1) * chunk))
      .filter((part) => part.length > 0)
      .map((part) =>
        producer.send({
          topic,
          messages: part.map((e) => ({ key: e.device_id, value: JSON.stringify(e) })),
        }),
      );
    await Promise.all(sends);
  }
  await producer.disconnect();
  return events.length / ((performance.now() - start) / 1000);
}

function peakRssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : undefined;
}

async function stop(processor: ProcessorProcess): Promise<void> {
  processor.child.kill('SIGTERM');
  const code = await processor.exited;
  if (code !== 0) throw new Error(`processor exited ${code}: ${processor.output()}`);
}

async function storedCount(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from telemetry_events`;
  return row?.n ?? 0;
}

/** Drains the preloaded topic; the rate counts from the first stored row to the last. */
async function measureThroughput(
  brokers: string,
  sql: Sql,
  url: string,
  events: readonly TelemetryEvent[],
) {
  const processor = spawnProcessor({
    brokers,
    databaseUrl: url,
    topics: topicsFor('bench'),
    groupId: 'bench-throughput',
    env: { HTTP_PORT: String(await freePort()) },
  });
  let first: { at: number; count: number } | undefined;
  let count = 0;
  let rss: number | undefined;
  while (count < events.length) {
    if (processor.child.exitCode !== null) throw new Error(`processor died: ${processor.output()}`);
    await sleep(200);
    count = await storedCount(sql);
    if (!first && count > 0) first = { at: performance.now(), count };
    rss = peakRssMiB(processor.child.pid) ?? rss;
  }
  const seconds = (performance.now() - (first?.at ?? 0)) / 1000;
  await stop(processor);
  return {
    eventsPerSecond: (events.length - (first?.count ?? 0)) / seconds,
    seconds,
    peakRssMiB: rss,
  };
}

/** A steady 10,000 events/s from the simulator; latency from the replica's own histogram. */
async function measureLatency(kafka: Kafka, brokers: string, url: string) {
  const port = await freePort();
  const processor = spawnProcessor({
    brokers,
    databaseUrl: url,
    topics: topicsFor('latency'),
    groupId: 'bench-latency',
    env: { HTTP_PORT: String(port) },
  });
  await sleep(3000); // let it join the group before the clock starts
  const simulator = await startSimulator({
    kafka,
    topic: topicsFor('latency').events,
    site: {
      siteId: 'site-latency',
      zones: ['zone-01', 'zone-02', 'zone-03', 'zone-04', 'zone-05'],
      devicesPerZone: 10,
      sensors: ['co2', 'temperature', 'humidity', 'occupancy'],
      anomalyRate: 0.05,
      seed: 7,
    },
    eventsPerSecond: LATENCY_RATE,
    maxEvents: LATENCY_RATE * LATENCY_SECONDS,
    logger,
    registry: new Registry(),
  });
  const { sent } = await simulator.done;
  await sleep(3000);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const rss = peakRssMiB(processor.child.pid);
  await stop(processor);
  const name = 'telemetry_processor_event_to_stored_seconds';
  return {
    sent,
    p50: histogramQuantile(metrics, name, 0.5),
    p99: histogramQuantile(metrics, name, 0.99),
    peakRssMiB: rss,
  };
}

async function main(): Promise<void> {
  const platform = await startThrowawayPlatform();
  try {
    const brokers = platform.kafka.brokers;
    const kafka = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, topicsFor('bench'));
    await createTopics(admin, topicsFor('latency'));
    await admin.disconnect();
    const url = platform.postgres.url;
    const sql = createSql({ url, poolSize: 4, logger, applicationName: 'bench' });
    await migrate(sql, DEFAULT_MIGRATIONS_DIR, logger);
    await ensurePartitions(sql, DEFAULT_LIMITS.maxAgeMs);

    const events = syntheticEvents(total, Date.now());
    const preloadRate = await preload(kafka, topicsFor('bench').events, events);
    const throughput = await measureThroughput(brokers, sql, url, events);
    const copyRate = await copyRowsPerSecond(sql, events);
    const seedRate = await seedStyleEventsPerSecond(sql, events.slice(0, SEED_STYLE_SAMPLE));
    await sql`truncate telemetry_events, telemetry_agg_5m, telemetry_agg_15m`;
    const latency = await measureLatency(kafka, brokers, url);
    await sql.end();

    const round = (n: number | undefined, digits = 0) =>
      n === undefined ? null : Number(n.toFixed(digits));
    console.log(
      JSON.stringify(
        {
          benchmark: 'processor',
          events: total,
          preload_events_per_s: round(preloadRate),
          processor_events_per_s: round(throughput.eventsPerSecond),
          processor_drain_seconds: round(throughput.seconds, 1),
          copy_rows_per_s: round(copyRate),
          seed_style_events_per_s: round(seedRate),
          seed_style_sample_events: SEED_STYLE_SAMPLE,
          ratio_to_copy: round(throughput.eventsPerSecond / copyRate, 2),
          ratio_to_seed_style: round(throughput.eventsPerSecond / seedRate, 1),
          latency_rate_events_per_s: LATENCY_RATE,
          latency_events: latency.sent,
          latency_p50_ms: round((latency.p50 ?? NaN) * 1000),
          latency_p99_ms: round((latency.p99 ?? NaN) * 1000),
          peak_rss_mib: Math.max(throughput.peakRssMiB ?? 0, latency.peakRssMiB ?? 0),
        },
        null,
        2,
      ),
    );
  } finally {
    await platform.stop();
  }
}

await main();
