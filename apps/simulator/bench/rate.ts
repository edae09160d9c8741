// Simulator rate benchmark: runs the simulator in-process against a real Kafka broker at
// 1 to 50,000 events/s for a fixed wall time each and measures the rate it actually held, then
// one more 50,000/s pass for the process's CPU time and peak RSS. Prints JSON.
// Usage: node apps/simulator/bench/rate.ts
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { Registry } from 'prom-client';
import { createLogger, ensureTopics, SENSOR_TYPES } from '@telemetrypulse/shared';
import { startThrowawayPlatform } from '@telemetrypulse/devstack/test';
import { startSimulator, type SimulatorOptions } from '../src/publisher.ts';
import type { SiteModelOptions } from '../src/site-model.ts';

const TOPIC = 'bench.simulator.events';
const PARTITIONS = 12;
/** Rates and wall times; 10.5 s at 1/s so the 10th event (due at 10.0 s) is inside the window. */
const RUNS = [
  { rate: 1, seconds: 10.5 },
  { rate: 100, seconds: 10 },
  { rate: 5_000, seconds: 10 },
  { rate: 50_000, seconds: 10 },
] as const;
const CPU_PASS = { rate: 50_000, seconds: 10 } as const;
/** Run first and reported apart: the first seconds at a high rate warm up V8 and the broker's JVM. */
const WARMUP = { rate: 50_000, seconds: 5 } as const;
const RSS_SAMPLE_MS = 50;

const logger = createLogger('bench', 'silent');
// 20 zones x 50 devices x 4 sensors = 4,000 (device, sensor) pairs: 1,000 keys over 12 partitions.
const SITE: SiteModelOptions = {
  siteId: 'site-01',
  zones: Array.from({ length: 20 }, (_, i) => `zone-${String(i + 1).padStart(2, '0')}`),
  devicesPerZone: 50,
  sensors: [...SENSOR_TYPES],
  anomalyRate: 0.05,
  seed: 42,
};

/**
 * Messages on the topic: the sum of the partitions' high watermarks. Retried, since a new topic's
 * leaders can answer NOT_LEADER_FOR_PARTITION for a moment after createTopics returns.
 */
async function messagesOnTopic(admin: Admin): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      const offsets = await admin.fetchTopicOffsets(TOPIC);
      return offsets.reduce((sum, p) => sum + Number(p.offset), 0);
    } catch (error) {
      if (attempt >= 20 || (error as { retriable?: boolean }).retriable !== true) throw error;
      await delay(250);
    }
  }
}

interface Acks {
  sends: number;
  lastAckMs: number;
  /** Set once the simulator has started; acknowledgements are counted per second from it. */
  startMs: number;
  perSecond: (number | undefined)[];
}

/** The broker's Kafka client, with the acknowledgements timed. */
function timedKafka(kafka: Kafka): { kafka: SimulatorOptions['kafka']; acks: Acks } {
  const acks: Acks = { sends: 0, lastAckMs: Number.NaN, startMs: Number.NaN, perSecond: [] };
  return {
    acks,
    kafka: {
      producer: (config) => {
        const producer = kafka.producer(config);
        const send = producer.send.bind(producer);
        producer.send = async (record) => {
          const result = await send(record);
          acks.sends++;
          acks.lastAckMs = performance.now();
          const second = Math.floor((acks.lastAckMs - acks.startMs) / 1000);
          acks.perSecond[second] = (acks.perSecond[second] ?? 0) + record.messages.length;
          return result;
        };
        return producer;
      },
    },
  };
}

interface CpuSnapshot {
  atMs: number;
  processUs: number;
  /** Clock ticks (1/100 s) of the broker's JVM; undefined without /proc. */
  brokerTicks: number | undefined;
  machineBusyMs: number;
}

function cpuSnapshot(brokerPid: number): CpuSnapshot {
  let brokerTicks: number | undefined;
  try {
    const stat = readFileSync(`/proc/${brokerPid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14 and stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    brokerTicks = Number(fields[11]) + Number(fields[12]);
  } catch {
    brokerTicks = undefined;
  }
  const machineBusyMs = cpus().reduce(
    (sum, c) => sum + c.times.user + c.times.nice + c.times.sys + c.times.irq,
    0,
  );
  const { user, system } = process.cpuUsage();
  return { atMs: performance.now(), processUs: user + system, brokerTicks, machineBusyMs };
}

/** Cores kept busy between two snapshots: this process, the broker, and the whole machine. */
function coresUsed(a: CpuSnapshot, b: CpuSnapshot) {
  const seconds = (b.atMs - a.atMs) / 1000;
  const broker =
    a.brokerTicks === undefined || b.brokerTicks === undefined
      ? null
      : round((b.brokerTicks - a.brokerTicks) / 100 / seconds, 2);
  return {
    bench_process: round((b.processUs - a.processUs) / 1e6 / seconds, 2),
    kafka_broker: broker,
    whole_machine: round((b.machineBusyMs - a.machineBusyMs) / 1000 / seconds, 2),
  };
}

function metricValue(registry: Registry, name: string): Promise<number> {
  return (
    registry
      .getSingleMetric(name)
      ?.get()
      .then((m) => m.values.reduce((sum, v) => sum + v.value, 0)) ?? Promise.resolve(0)
  );
}

interface Pass {
  configured_events_per_s: number;
  /** Events acknowledged / time from start to the last acknowledgement. */
  achieved_events_per_s: number;
  relative_error: number;
  acknowledged: number;
  on_topic: number;
  dropped: number;
  send_errors: number;
  window_s: number;
  /** Events the schedule made due by the time stop() was called. */
  due_by_stop: number;
  elapsed_to_last_ack_s: number;
  sends: number;
  mean_batch: number;
  stop_drain_ms: number;
  /** Acknowledged in each second from the start (the last one is partial). */
  acknowledged_per_second: number[];
  /** Over the window; whole_machine includes anything else running on it. */
  cpu_cores_used: ReturnType<typeof coresUsed>;
}

interface Bench {
  kafka: Kafka;
  admin: Admin;
  brokerPid: number;
}

async function runPass(
  { kafka, admin, brokerPid }: Bench,
  rate: number,
  seconds: number,
  onTick?: () => void,
): Promise<Pass> {
  const before = await messagesOnTopic(admin);
  const registry = new Registry();
  const timed = timedKafka(kafka);
  const simulator = await startSimulator({
    kafka: timed.kafka,
    topic: TOPIC,
    site: SITE,
    eventsPerSecond: rate,
    logger,
    registry,
  });
  // The simulator starts its schedule just before startSimulator resolves.
  const start = performance.now();
  timed.acks.startMs = start;
  const cpuAtStart = cpuSnapshot(brokerPid);
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    onTick?.();
    await delay(Math.min(RSS_SAMPLE_MS, Math.max(1, end - performance.now())));
  }
  const stopAt = performance.now();
  const cpuAtStop = cpuSnapshot(brokerPid);
  const stats = await simulator.stop();
  const stopDrainMs = performance.now() - stopAt;
  const onTopic = (await messagesOnTopic(admin)) - before;
  const elapsed = (timed.acks.lastAckMs - start) / 1000;
  const achieved = stats.sent / elapsed;
  return {
    configured_events_per_s: rate,
    achieved_events_per_s: round(achieved, 3),
    relative_error: round((achieved - rate) / rate, 5),
    acknowledged: stats.sent,
    on_topic: onTopic,
    dropped: stats.dropped,
    send_errors: await metricValue(registry, 'telemetry_simulator_send_errors_total'),
    window_s: round((stopAt - start) / 1000, 3),
    due_by_stop: Math.floor(((stopAt - start) * rate) / 1000),
    elapsed_to_last_ack_s: round(elapsed, 3),
    sends: timed.acks.sends,
    mean_batch: round(stats.sent / Math.max(1, timed.acks.sends), 1),
    stop_drain_ms: Math.round(stopDrainMs),
    acknowledged_per_second: Array.from(timed.acks.perSecond, (n) => n ?? 0),
    cpu_cores_used: coresUsed(cpuAtStart, cpuAtStop),
  };
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

const mib = (bytes: number) => round(bytes / 1_048_576, 1);

async function main(): Promise<void> {
  const benchStart = performance.now();
  // Other work on the machine competes with the simulator and the broker: record how much.
  const loadBefore = loadavg()[0] ?? 0;
  const platform = await startThrowawayPlatform();
  try {
    const kafka = new Kafka({ brokers: [platform.kafka.brokers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, [{ topic: TOPIC, numPartitions: PARTITIONS }]);
      const platformSeconds = (performance.now() - benchStart) / 1000;

      const bench: Bench = { kafka, admin, brokerPid: platform.kafka.child.pid };

      const warmup = await runPass(bench, WARMUP.rate, WARMUP.seconds);
      const runs: Pass[] = [];
      for (const { rate, seconds } of RUNS) runs.push(await runPass(bench, rate, seconds));

      const memoryBefore = process.memoryUsage();
      let [peakRss, peakHeap] = [memoryBefore.rss, memoryBefore.heapUsed];
      const sampleMemory = () => {
        const { rss, heapUsed } = process.memoryUsage();
        [peakRss, peakHeap] = [Math.max(peakRss, rss), Math.max(peakHeap, heapUsed)];
      };
      const cpuStart = process.cpuUsage();
      const wallStart = performance.now();
      const pass = await runPass(bench, CPU_PASS.rate, CPU_PASS.seconds, sampleMemory);
      sampleMemory();
      const cpu = process.cpuUsage(cpuStart);
      const wallSeconds = (performance.now() - wallStart) / 1000;
      const cpuMs = (cpu.user + cpu.system) / 1000;

      console.log(
        JSON.stringify(
          {
            benchmark: 'simulator',
            node: process.version,
            cpus: cpus().length,
            load_avg_1m: { before: round(loadBefore, 2), after: round(loadavg()[0] ?? 0, 2) },
            topic_partitions: PARTITIONS,
            site_pairs: SITE.zones.length * SITE.devicesPerZone * SITE.sensors.length,
            platform_start_s: round(platformSeconds, 1),
            warmup,
            rates: runs,
            cpu_pass: {
              ...pass,
              wall_s: round(wallSeconds, 3),
              cpu_user_ms: Math.round(cpu.user / 1000),
              cpu_system_ms: Math.round(cpu.system / 1000),
              process_cpu_cores_whole_pass: round(cpuMs / 1000 / wallSeconds, 3),
              cpu_us_per_event: round((cpuMs * 1000) / Math.max(1, pass.acknowledged), 2),
              rss_before_mib: mib(memoryBefore.rss),
              peak_rss_mib: mib(peakRss),
              heap_used_before_mib: mib(memoryBefore.heapUsed),
              peak_heap_used_mib: mib(peakHeap),
            },
            bench_total_s: round((performance.now() - benchStart) / 1000, 1),
            note:
              'in-process simulator, default producer settings (acks=-1, maxBatch 1000, maxInFlight 4); ' +
              'achieved = acknowledged / (start to last acknowledgement); on_topic = high-watermark delta; ' +
              'warmup runs first and is not part of the results; cpu_pass CPU and RSS are the bench ' +
              'process only (the broker and PostgreSQL are child processes on the same cores); ' +
              'cpu_cores_used.whole_machine includes whatever else runs on the machine',
          },
          null,
          2,
        ),
      );
    } finally {
      await admin.disconnect();
    }
  } finally {
    await platform.stop();
  }
}

await main();
