import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { ICustomPartitioner, Kafka, Message } from 'kafkajs';
import type { Registry } from 'prom-client';
import { sendWithTrace, type Logger, type SensorType } from '@telemetrypulse/shared';
import { createSimulatorMetrics } from './metrics.ts';
import { eventsDue, msUntilDue, startPace } from './pacing.ts';
import { createSiteModel, type SiteModelOptions } from './site-model.ts';

export interface SimulatorOptions {
  /** Only `producer()` is used; the simulator owns the producer it makes. */
  kafka: Pick<Kafka, 'producer'>;
  topic: string;
  site: SiteModelOptions;
  eventsPerSecond: number;
  logger: Logger;
  registry: Registry;
  /** Stop after exactly this many events are acknowledged (tests, one-off loads). */
  maxEvents?: number;
  /** Events per producer.send call. */
  maxBatch?: number;
  /** Sends awaiting acknowledgement at once; more than one keeps high rates flowing. */
  maxInFlight?: number;
  /** Pause before a failed send is tried again. */
  retryDelayMs?: number;
}

export interface SimulatorStats {
  /** Events acknowledged by Kafka. */
  sent: number;
  /** Events given up on because the simulator stopped while their send was failing. */
  dropped: number;
}

export interface Simulator {
  /** Settles when the run ends (maxEvents acknowledged, or stop()); the producer is disconnected. */
  readonly done: Promise<SimulatorStats>;
  /** Connected, and the last send (if any) succeeded. */
  isReady(): boolean;
  /** Stops producing, waits for sends in flight, disconnects. Safe to call more than once. */
  stop(): Promise<SimulatorStats>;
}

interface Batch {
  messages: Message[];
  perSensor: Map<SensorType, number>;
}

const RATE_SAMPLE_MS = 5000;
/** Key hashes remembered by the partitioner; a site's device ids fit many times over. */
const KEY_HASH_CACHE = 65_536;

/**
 * Java's murmur2 (org.apache.kafka.common.utils.Utils.murmur2) of `data`, as a signed 32-bit int.
 * The same function as kafkajs's DefaultPartitioner, in 32-bit integer arithmetic: that one
 * emulates 64-bit longs and was a fifth of the simulator's CPU at 50,000 events/s.
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  const tail = length & ~3;
  let h = 0x9747b28c ^ length;
  for (let i = 0; i < tail; i += 4) {
    let k =
      (data[i] ?? 0) |
      ((data[i + 1] ?? 0) << 8) |
      ((data[i + 2] ?? 0) << 16) |
      ((data[i + 3] ?? 0) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    h = Math.imul(h, m) ^ Math.imul(k, m);
  }
  const rest = length & 3;
  if (rest === 3) h ^= (data[tail + 2] ?? 0) << 16;
  if (rest >= 2) h ^= (data[tail + 1] ?? 0) << 8;
  if (rest >= 1) h = Math.imul(h ^ (data[tail] ?? 0), m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  return h ^ (h >>> 15);
}

/**
 * Kafka's default partitioning of keyed messages (toPositive(murmur2(key)) % partitions), so a
 * device lands on the same partition from any client, with each key's hash computed once.
 */
export const keyPartitioner: ICustomPartitioner = () => {
  const hashes = new Map<string, number>();
  let unkeyed = 0;
  return ({ partitionMetadata, message }) => {
    if (message.partition !== undefined) return message.partition;
    const key = message.key;
    // The simulator always sets a key; anything else is spread round-robin.
    if (key === null || key === undefined) return unkeyed++ % partitionMetadata.length;
    let hash = typeof key === 'string' ? hashes.get(key) : undefined;
    if (hash === undefined) {
      hash = murmur2(typeof key === 'string' ? Buffer.from(key) : key) & 0x7fffffff;
      if (typeof key === 'string') {
        if (hashes.size >= KEY_HASH_CACHE) hashes.clear();
        hashes.set(key, hash);
      }
    }
    return hash % partitionMetadata.length;
  };
};

/** Sleeps, waking early (without throwing) when `signal` aborts. */
async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  await delay(Math.max(1, Math.ceil(ms)), undefined, { signal }).catch(() => undefined);
}

/**
 * Connects a producer and publishes the site's readings at the configured rate until stopped
 * (or until `maxEvents` are acknowledged). Failed sends are retried with the same event ids:
 * the processor deduplicates on event_id, so a retry never double-counts.
 */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const { topic, site, eventsPerSecond, logger } = options;
  const limit = options.maxEvents ?? Number.POSITIVE_INFINITY;
  const maxBatch = options.maxBatch ?? 1000;
  const maxInFlight = options.maxInFlight ?? 4;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const model = createSiteModel(site);
  startPace(eventsPerSecond, 0); // a bad rate fails here, before anything connects
  const metrics = createSimulatorMetrics(options.registry, site.siteId, site.sensors);
  const siteLabel = { site_id: site.siteId };
  metrics.configuredRate.set(siteLabel, eventsPerSecond);

  const producer = options.kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: keyPartitioner,
  });
  await producer.connect();
  let connected = true;
  let failing = false;
  const stopping = new AbortController();
  const stats: SimulatorStats = { sent: 0, dropped: 0 };

  function buildBatch(size: number): Batch {
    const now = Date.now();
    const messages: Message[] = [];
    const perSensor = new Map<SensorType, number>();
    for (let i = 0; i < size; i++) {
      const event = model.nextEvent(now);
      messages.push({ key: event.device_id, value: JSON.stringify(event) });
      perSensor.set(event.sensor_type, (perSensor.get(event.sensor_type) ?? 0) + 1);
    }
    return { messages, perSensor };
  }

  async function send(batch: Batch): Promise<void> {
    for (;;) {
      try {
        // One span per send; every message of the batch carries its traceparent.
        await sendWithTrace(topic, batch.messages.length, (headers) => {
          if (headers) for (const message of batch.messages) message.headers = headers;
          return producer.send({ topic, acks: -1, messages: batch.messages });
        });
        failing = false;
        stats.sent += batch.messages.length;
        for (const [sensor, count] of batch.perSensor) {
          metrics.eventsProduced.inc({ ...siteLabel, sensor_type: sensor }, count);
        }
        return;
      } catch (error) {
        failing = true;
        metrics.sendErrors.inc(siteLabel);
        if (stopping.signal.aborted) {
          stats.dropped += batch.messages.length;
          logger.error({ err: error, events: batch.messages.length }, 'send failed while stopping');
          return;
        }
        logger.warn({ err: error, events: batch.messages.length }, 'send failed; retrying');
        await sleep(retryDelayMs, stopping.signal);
      }
    }
  }

  let sampledAt = performance.now();
  let sampledSent = 0;
  const rateTimer = setInterval(() => {
    const now = performance.now();
    metrics.achievedRate.set(siteLabel, ((stats.sent - sampledSent) * 1000) / (now - sampledAt));
    [sampledAt, sampledSent] = [now, stats.sent];
  }, RATE_SAMPLE_MS);
  rateTimer.unref();

  async function run(): Promise<SimulatorStats> {
    const inFlight = new Set<Promise<void>>();
    let pace = startPace(eventsPerSecond, performance.now());
    let released = 0;
    try {
      while (!stopping.signal.aborted && released < limit) {
        const due = eventsDue(pace, released, performance.now());
        pace = due.pace;
        let count = Math.min(due.count, limit - released);
        if (count === 0) {
          await sleep(msUntilDue(pace, released, performance.now()), stopping.signal);
          continue;
        }
        while (count > 0 && inFlight.size < maxInFlight) {
          const size = Math.min(count, maxBatch);
          const sending = send(buildBatch(size)).finally(() => inFlight.delete(sending));
          inFlight.add(sending);
          released += size;
          count -= size;
        }
        // Backpressure: what is left stays due, and pacing caps how much piles up.
        if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      }
    } finally {
      await Promise.all(inFlight);
      clearInterval(rateTimer);
      metrics.achievedRate.set(siteLabel, 0);
      connected = false;
      await producer.disconnect();
    }
    logger.info({ ...stats, topic }, 'simulator stopped');
    return { ...stats };
  }

  logger.info(
    { topic, siteId: site.siteId, pairs: model.pairCount, eventsPerSecond, seed: site.seed },
    'simulator started',
  );
  const done = run();
  return {
    done,
    isReady: () => connected && !failing,
    stop: () => {
      stopping.abort();
      return done;
    },
  };
}
