// Processor benchmark on this machine with a real Kafka broker and a real PostgreSQL. Prints JSON:
// - processor_events_per_s: one processor replica (the real program, as its own process) draining
//   a preloaded topic end to end (consume → validate → raw insert → aggregates → alerts → commit);
// - kafka_client_events_per_s: kafkajs alone on the same topic (consume, JSON.parse, commit);
// - copy_rows_per_s: COPY of the same rows into the same raw table, the database's ceiling;
// - seed_style_events_per_s: the original's one-event-at-a-time, transaction-per-statement way;
// - p50/p99 event-to-stored latency at a steady 10,000 events/s, and the replica's peak RSS;
// - CPU per event of the processor, of PostgreSQL and of the broker while draining (together
//   they bound what one replica can do on this machine's cores), and the machine's load;
// - the targets and whether each was met.
// Usage: npm run bench:processor [-- EVENTS]   (default 1,000,000 preloaded events)
// BENCH_PROCESSOR_NODE_OPTIONS sets the replica's NODE_OPTIONS (default PROCESSOR_NODE_OPTIONS).
import { cpus, loadavg } from 'node:os';
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
import { freePort, startThrowawayPlatform } from '@telemetrypulse/devstack/test';
import { startSimulator } from '@telemetrypulse/simulator/testing';
import { spawnProcessor, type ProcessorProcess } from '../test/processor-process.ts';
import { copyRowsPerSecond, emptyTables, seedStyleEventsPerSecond } from './baselines.ts';
import { kafkaClientEventsPerSecond } from './kafka-client.ts';
import { cpuSeconds, peakRssMiB } from './process-cpu.ts';
import { histogramQuantile } from './percentiles.ts';
import { syntheticEvents } from './synthetic.ts';

const total = Number(process.argv[2] ?? 1_000_000);
const SEED_STYLE_SAMPLE = 5_000;
const LATENCY_RATE = 10_000;
const LATENCY_SECONDS = 20;
const logger = createLogger('bench', 'warn');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * V8 flags the replica runs with, as a deployment should set them (NODE_OPTIONS). Node sizes the
 * young generation from the machine's memory: 32 MiB semi-spaces here, which held some 110 MiB
 * of RSS for nothing; at 8 MiB the processor's CPU per event measured the same.
 */
const PROCESSOR_NODE_OPTIONS = '--max-semi-space-size=8';
const nodeOptions = process.env.BENCH_PROCESSOR_NODE_OPTIONS ?? PROCESSOR_NODE_OPTIONS;
const TARGETS = {
  processor_events_per_s: 50_000,
  ratio_to_copy: 0.5,
  ratio_to_seed_style: 50,
  latency_p99_ms: 2_000,
  peak_rss_mib: 300,
};

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

async function stop(processor: ProcessorProcess): Promise<void> {
  processor.child.kill('SIGTERM');
  const code = await processor.exited;
  if (code !== 0) throw new Error(`processor exited ${code}: ${processor.output()}`);
}

async function storedCount(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from telemetry_events`;
  return row?.n ?? 0;
}

/**
 * Events the replica has stored and committed, from its own counter. Polling the database
 * instead (count(*) over a million rows, five times a second) took CPU from the run it measured.
 */
async function storedByReplica(port: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const match = /^telemetry_processor_events_stored_total(?:\{[^}]*\})? (\S+)$/m.exec(text);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0; // not listening yet
  }
}

/**
 * Drains the preloaded topic; the rate, and the processor's, PostgreSQL's and the broker's CPU
 * per event, count from the first stored row to the last.
 */
async function measureThroughput(
  brokers: string,
  sql: Sql,
  url: string,
  servers: { postgresPid: number; brokerPid: number },
  events: readonly TelemetryEvent[],
) {
  const { postgresPid, brokerPid } = servers;
  const { port, processor } = await spawnReplica(brokers, url, 'bench', 'bench-throughput');
  const pid = processor.child.pid ?? 0;
  let first:
    { at: number; count: number; cpu: number; postgresCpu: number; brokerCpu: number } | undefined;
  let count = 0;
  let rss: number | undefined;
  while (count < events.length) {
    if (processor.child.exitCode !== null) throw new Error(`processor died: ${processor.output()}`);
    await sleep(200);
    count = await storedByReplica(port);
    if (!first && count > 0) {
      first = {
        at: performance.now(),
        count,
        cpu: cpuSeconds(pid),
        postgresCpu: cpuSeconds(postgresPid),
        brokerCpu: cpuSeconds(brokerPid),
      };
    }
    rss = peakRssMiB(pid) ?? rss;
  }
  const seconds = (performance.now() - (first?.at ?? 0)) / 1000;
  const drained = events.length - (first?.count ?? 0);
  const cpu = cpuSeconds(pid) - (first?.cpu ?? 0);
  const postgresCpu = cpuSeconds(postgresPid) - (first?.postgresCpu ?? 0);
  const brokerCpu = cpuSeconds(brokerPid) - (first?.brokerCpu ?? 0);
  await stop(processor);
  const rows = await storedCount(sql);
  if (rows !== events.length) throw new Error(`${rows} raw rows for ${events.length} events`);
  return {
    eventsPerSecond: drained / seconds,
    seconds,
    peakRssMiB: rss,
    processorCpuUsPerEvent: (cpu * 1e6) / drained,
    postgresCpuUsPerEvent: (postgresCpu * 1e6) / drained,
    brokerCpuUsPerEvent: (brokerCpu * 1e6) / drained,
  };
}

/** One processor replica as its own process on the run's topics, its /metrics on a free port. */
async function spawnReplica(brokers: string, url: string, run: string, groupId: string) {
  const port = await freePort();
  const processor = spawnProcessor({
    brokers,
    databaseUrl: url,
    topics: topicsFor(run),
    groupId,
    env: { HTTP_PORT: String(port), NODE_OPTIONS: nodeOptions },
  });
  return { port, processor };
}
/** A steady 10,000 events/s from the simulator; latency from the replica's own histogram. */
async function measureLatency(kafka: Kafka, brokers: string, url: string) {
  const { port, processor } = await spawnReplica(brokers, url, 'latency', 'bench-latency');
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
  const loadBefore = loadavg();
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
    const kafkaClientRate = await kafkaClientEventsPerSecond(
      kafka,
      topicsFor('bench').events,
      total,
    );
    const throughput = await measureThroughput(
      brokers,
      sql,
      url,
      { postgresPid: platform.postgres.child.pid, brokerPid: platform.kafka.child.pid },
      events,
    );
    const copyRate = await copyRowsPerSecond(sql, events);
    const seedRate = await seedStyleEventsPerSecond(sql, events.slice(0, SEED_STYLE_SAMPLE));
    await emptyTables(sql);
    const latency = await measureLatency(kafka, brokers, url);
    await sql.end();

    const round = (n: number | undefined, digits = 0) =>
      n === undefined || Number.isNaN(n) ? null : Number(n.toFixed(digits));
    const figures = {
      processor_events_per_s: round(throughput.eventsPerSecond),
      ratio_to_copy: round(throughput.eventsPerSecond / copyRate, 2),
      ratio_to_seed_style: round(throughput.eventsPerSecond / seedRate, 1),
      latency_p99_ms: round((latency.p99 ?? NaN) * 1000),
      peak_rss_mib: Math.max(throughput.peakRssMiB ?? 0, latency.peakRssMiB ?? 0),
    };
    const met = {
      processor_events_per_s:
        (figures.processor_events_per_s ?? 0) >= TARGETS.processor_events_per_s,
      ratio_to_copy: (figures.ratio_to_copy ?? 0) >= TARGETS.ratio_to_copy,
      ratio_to_seed_style: (figures.ratio_to_seed_style ?? 0) >= TARGETS.ratio_to_seed_style,
      latency_p99_ms:
        figures.latency_p99_ms !== null && figures.latency_p99_ms < TARGETS.latency_p99_ms,
      peak_rss_mib: figures.peak_rss_mib > 0 && figures.peak_rss_mib < TARGETS.peak_rss_mib,
    };
    console.log(
      JSON.stringify(
        {
          benchmark: 'processor',
          events: total,
          preload_events_per_s: round(preloadRate),
          processor_events_per_s: figures.processor_events_per_s,
          processor_drain_seconds: round(throughput.seconds, 1),
          kafka_client_events_per_s: round(kafkaClientRate),
          copy_rows_per_s: round(copyRate),
          seed_style_events_per_s: round(seedRate),
          seed_style_sample_events: SEED_STYLE_SAMPLE,
          ratio_to_copy: figures.ratio_to_copy,
          ratio_to_seed_style: figures.ratio_to_seed_style,
          latency_rate_events_per_s: LATENCY_RATE,
          latency_events: latency.sent,
          latency_p50_ms: round((latency.p50 ?? NaN) * 1000),
          latency_p99_ms: figures.latency_p99_ms,
          peak_rss_mib: figures.peak_rss_mib,
          processor_cpu_us_per_event: round(throughput.processorCpuUsPerEvent, 1),
          postgres_cpu_us_per_event: round(throughput.postgresCpuUsPerEvent, 1),
          broker_cpu_us_per_event: round(throughput.brokerCpuUsPerEvent, 1),
          processor_node_options: nodeOptions,
          machine: {
            cpus: cpus().length,
            loadavg_1m_before: round(loadBefore[0], 2),
            loadavg_1m_after: round(loadavg()[0], 2),
          },
          targets: TARGETS,
          met,
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
