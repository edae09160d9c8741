import { Partitioners, type Kafka } from 'kafkajs';
import type { Sql, TelemetryEvent } from '@telemetrypulse/shared';
import {
  eventPositions,
  latencyStages,
  type LatencyStages,
  type TimedEvent,
} from './latency-stages.ts';
import { sample } from './percentiles.ts';
import { peakRssMiB } from './process-cpu.ts';
import { scrape, spawnReplica, stopReplica, topicsFor } from './replica.ts';
import { quantile } from './stats.ts';
import { syntheticEvents } from './synthetic.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TICK_MS = 5;
/** At most this many events in one send, under the broker's message size when sends fall behind. */
const MAX_SEND = 1_000;

export interface Latency {
  rate: number;
  sent: number;
  /** The rate the producer really held (below `rate` when it could not keep up). */
  sentPerSecond: number;
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  maxMs: number | undefined;
  peakRssMiB: number | undefined;
  /** Where the events spent that time (latency-stages.ts). */
  stages: LatencyStages;
}

/**
 * Sends `rate` events/s for `seconds` in small timed batches, noting each event's send time,
 * and returns when all are in the table; events carry their send time as ts_event.
 */
async function produceAtRate(
  kafka: Kafka,
  topic: string,
  rate: number,
  seconds: number,
): Promise<{ sentAt: Map<string, number>; ackedAt: Map<string, number>; seconds: number }> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const sentAt = new Map<string, number>();
  const ackedAt = new Map<string, number>();
  const total = Math.round(rate * seconds);
  const start = performance.now();
  try {
    while (sentAt.size < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      if (due <= sentAt.size) {
        await sleep(TICK_MS);
        continue;
      }
      const now = Date.now();
      const count = Math.min(MAX_SEND, due - sentAt.size);
      const events: TelemetryEvent[] = syntheticEvents(count, now, { spanMs: 0 });
      for (const e of events) sentAt.set(e.event_id, now);
      await producer.send({
        topic,
        messages: events.map((e) => ({ key: e.device_id, value: JSON.stringify(e) })),
      });
      const acked = Date.now();
      for (const e of events) ackedAt.set(e.event_id, acked);
    }
  } finally {
    await producer.disconnect();
  }
  return { sentAt, ackedAt, seconds: (performance.now() - start) / 1000 };
}

/**
 * Latency per event at a steady `rate`: from the producer's send to the commit of the
 * transaction that made the event's row and its windows visible (PostgreSQL's commit timestamp
 * of the row, same machine clock), for every event, not from a histogram's buckets.
 * Expects the tables empty; leaves the events in them.
 */
export async function measureLatency(
  kafka: Kafka,
  brokers: string,
  sql: Sql,
  url: string,
  run: string,
  rate: number,
  seconds: number,
): Promise<Latency> {
  // Debug: one `group stored` line per transaction, with its batches (the stages below).
  const replica = await spawnReplica(brokers, url, run, `bench-latency-${run}`, {
    LOG_LEVEL: 'debug',
  });
  try {
    // Let it join the group and fetch an empty topic before the clock starts.
    for (let i = 0; i < 100 && (await scrape(replica)) === ''; i++) await sleep(100);
    await sleep(3000);
    const produced = await produceAtRate(kafka, topicsFor(run).events, rate, seconds);
    const total = produced.sentAt.size;
    for (let waited = 0; waited < 60_000; waited += 200) {
      if (sample(await scrape(replica), 'telemetry_processor_events_stored_total') >= total) break;
      await sleep(200);
    }
    const rss = peakRssMiB(replica.pid);
    const rows = await sql<{ id: string; committed_ms: string }[]>`
      select event_id::text as id,
             extract(epoch from pg_xact_commit_timestamp(xmin)) * 1000 as committed_ms
      from telemetry_events`;
    const latencies: number[] = [];
    const timed: TimedEvent[] = [];
    for (const r of rows) {
      const sent = produced.sentAt.get(r.id);
      if (sent === undefined) continue;
      const committedAt = Number(r.committed_ms);
      latencies.push(committedAt - sent);
      timed.push({
        id: r.id,
        sentAt: sent,
        ackedAt: produced.ackedAt.get(r.id) ?? sent,
        committedAt,
      });
    }
    if (latencies.length !== total)
      throw new Error(`${latencies.length} of ${total} events stored`);
    latencies.sort((a, b) => a - b);
    return {
      rate,
      sent: total,
      sentPerSecond: total / produced.seconds,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      maxMs: latencies.at(-1),
      peakRssMiB: rss,
      stages: latencyStages(
        timed,
        await eventPositions(kafka, topicsFor(run).events, total),
        replica.processor.logLines(),
      ),
    };
  } finally {
    await stopReplica(replica);
  }
}
