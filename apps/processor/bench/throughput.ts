// Processor benchmark on this machine with a real Kafka broker and a real PostgreSQL. Each run
// (BENCH_RUNS, default 3) measures, and the JSON prints min/median/max over the runs of:
// - processor_events_per_s: one processor replica (the real program, as its own process) draining
//   a preloaded topic end to end (consume → validate → raw insert → aggregates → alerts → commit);
// - its ratio to COPY of the same rows (the database's ceiling), computed per run, and to the
//   original's one-event-at-a-time way; kafkajs alone on the same topic; the database alone (the
//   processor's storeBatch from this process, no Kafka) and its ratio to COPY;
// - per-event latency (producer send → commit of the event's row and windows) at a steady
//   10,000 events/s and at half of that run's drain rate; the replica's peak RSS;
// - over the drain: CPU per event and busy cores of the processor, PostgreSQL and the broker, the
//   share of the time a store transaction was in flight (waiting on the database), and the
//   machine's load average; which of issue 18's targets each median meets. See docs/performance.md.
// Usage: npm run bench:processor [-- EVENTS]   (default 1,000,000 preloaded events per run)
// BENCH_RUNS (3), BENCH_LATENCY_SECONDS (20), BENCH_SCALE_OUT_REPLICAS (2: that many replicas in
// one group drain the topic twice more, then one replica once more, for the group's rate over the
// one-replica drains around it, its CPU and lock waits; 1 skips them);
// BENCH_PROCESSOR_NODE_OPTIONS sets the replica's NODE_OPTIONS.
import { loadavg } from 'node:os';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import {
  createLogger,
  createSql,
  DEFAULT_LIMITS,
  DEFAULT_MIGRATIONS_DIR,
  ensurePartitions,
  ensureTopics,
  migrate,
  type Sql,
} from '@telemetrypulse/shared';
import { copyRowsPerSecond, emptyTables, seedStyleEventsPerSecond } from './baselines.ts';
import { measureDrain, type Drain } from './drain.ts';
import { kafkaClientEventsPerSecond } from './kafka-client.ts';
import { measureLatency } from './latency.ts';
import { preload } from './preload.ts';
import { startBenchPlatform, type BenchPlatform } from './platform.ts';
import { storeTransactionsInFlight, topicsFor, warmCompileCache } from './replica.ts';
import { report, type Run } from './report.ts';
import { measureScaleOut, type ScaleOut } from './scale-out.ts';
import { measureStoreOnly } from './store-only.ts';
import { toJson } from './stats.ts';
import { syntheticEvents } from './synthetic.ts';

const total = Number(process.argv[2] ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 20);
const SEED_STYLE_SAMPLE = 5_000;
const LATENCY_RATE = 10_000;
const SCALE_OUT_REPLICAS = Number(process.env.BENCH_SCALE_OUT_REPLICAS ?? 2);
const logger = createLogger('bench', 'warn');

async function createTopics(admin: Admin, prefix: string): Promise<void> {
  const topics = topicsFor(prefix);
  await ensureTopics(admin, [
    { topic: topics.events, numPartitions: 12 },
    { topic: topics.dlq, numPartitions: 1 },
    { topic: topics.alerts, numPartitions: 1 },
  ]);
}

/** One run: every measurement once, each on its own topics and on emptied tables. */
async function run(platform: BenchPlatform, kafka: Kafka, sql: Sql, n: number): Promise<Run> {
  const before = loadavg()[0] ?? 0;
  const brokers = platform.kafka.brokers;
  const url = platform.postgres.url;
  const servers = { postgresPid: platform.postgres.child.pid, brokerPid: platform.kafka.child.pid };
  const admin = kafka.admin();
  await admin.connect();
  for (const prefix of [`drain-${n}`, `latency-${n}`, `half-${n}`])
    await createTopics(admin, prefix);
  await admin.disconnect();

  await emptyTables(sql);
  const events = syntheticEvents(total, Date.now());
  const preloadRate = await preload(kafka, topicsFor(`drain-${n}`).events, events);
  const kafkaClientRate = await kafkaClientEventsPerSecond(
    kafka,
    topicsFor(`drain-${n}`).events,
    total,
  );
  // Every drain reads the run's preloaded topic from the start, as a consumer group of its own.
  const oneReplicaDrain = (group?: string) =>
    measureDrain(brokers, sql, url, servers, `drain-${n}`, total, group);
  const groupDrain = (group: string) =>
    measureScaleOut(brokers, sql, url, servers, `drain-${n}`, total, SCALE_OUT_REPLICAS, group);
  const drain = await oneReplicaDrain();
  const copyRate = await copyRowsPerSecond(sql, events);
  const seedRate = await seedStyleEventsPerSecond(sql, events.slice(0, SEED_STYLE_SAMPLE));
  await emptyTables(sql);
  const storeOnly = await measureStoreOnly(url, servers.postgresPid, events, {
    perTransaction: (drain.eventsPerSecond * drain.seconds) / Math.max(1, drain.transactions),
    inFlight: storeTransactionsInFlight,
    logger,
  });
  await emptyTables(sql);
  // Two drains by a new group of SCALE_OUT_REPLICAS replicas (the drain's topic again, from the
  // start), then one replica once more: one, group, group, one. The group's rate is compared
  // with the mean of the one-replica drains around it, so a steady drift of the machine's speed
  // (±15 % between single drains within a run) cancels instead of passing for a gain or a loss.
  const scaleOut: ScaleOut[] = [];
  let drainAfterScaleOut: Drain | undefined;
  if (SCALE_OUT_REPLICAS > 1) {
    for (const pass of [1, 2]) {
      scaleOut.push(await groupDrain(`bench-scale-out-${n}-${pass}`));
      await emptyTables(sql);
    }
    drainAfterScaleOut = await oneReplicaDrain(`bench-drain-again-${n}`);
    await emptyTables(sql);
  }
  const at10k = await measureLatency(
    kafka,
    brokers,
    sql,
    url,
    `latency-${n}`,
    LATENCY_RATE,
    LATENCY_SECONDS,
  );
  await emptyTables(sql);
  const half = Math.round(drain.eventsPerSecond / 2);
  const atHalfDrain = await measureLatency(
    kafka,
    brokers,
    sql,
    url,
    `half-${n}`,
    half,
    LATENCY_SECONDS,
  );
  const result: Run = {
    preloadEventsPerSecond: preloadRate,
    kafkaClientEventsPerSecond: kafkaClientRate,
    copyRowsPerSecond: copyRate,
    seedStyleEventsPerSecond: seedRate,
    storeOnly,
    drain,
    at10k,
    atHalfDrain,
    scaleOut,
    drainAfterScaleOut,
    loadavg1m: { before, after: loadavg()[0] ?? 0 },
  };
  console.error(
    `run ${n}/${RUNS}: ${Math.round(drain.eventsPerSecond)} events/s, ` +
      `p99 ${Math.round(at10k.p99Ms ?? NaN)} ms at 10k, ` +
      `${Math.round(atHalfDrain.p99Ms ?? NaN)} ms at ${half}/s, ` +
      (drainAfterScaleOut
        ? `${SCALE_OUT_REPLICAS} replicas ${scaleOut.map((g) => Math.round(g.eventsPerSecond)).join(', ')} ` +
          `events/s, one again ${Math.round(drainAfterScaleOut.eventsPerSecond)}, `
        : '') +
      `load ${result.loadavg1m.after.toFixed(2)}`,
  );
  return result;
}

async function main(): Promise<void> {
  warmCompileCache();
  const platform = await startBenchPlatform();
  try {
    const kafka = new Kafka({ brokers: [platform.kafka.brokers], logLevel: logLevel.NOTHING });
    const sql = createSql({
      url: platform.postgres.url,
      poolSize: 4,
      logger,
      applicationName: 'bench',
    });
    await migrate(sql, DEFAULT_MIGRATIONS_DIR, logger);
    await ensurePartitions(sql, DEFAULT_LIMITS.maxAgeMs);
    const runs: Run[] = [];
    for (let n = 1; n <= RUNS; n++) runs.push(await run(platform, kafka, sql, n));
    await sql.end();
    console.log(toJson(report(total, runs, LATENCY_SECONDS)));
  } finally {
    await platform.stop();
  }
}

await main();
