// Processor throughput benchmark: preloads N events into a fresh topic on a real Kafka broker,
// then times one in-process processor replica draining them into a real PostgreSQL.
// Prints JSON. Usage: node apps/processor/bench/throughput.ts [events=200000]
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { Registry } from 'prom-client';
import {
  createLogger,
  createSql,
  DEFAULT_ALERT_RULES,
  DEFAULT_LIMITS,
  DEFAULT_MIGRATIONS_DIR,
  deviceId,
  ensurePartitions,
  migrate,
  SENSOR_TYPES,
  SENSORS,
} from '@telemetrypulse/shared';
import { startThrowawayPlatform } from '../../devstack/src/test/platform.ts';
import { startProcessor } from '../src/consumer.ts';

const total = Number(process.argv[2] ?? 200_000);
const logger = createLogger('bench', 'warn');

function syntheticEvents(count: number, now: number): { key: string; value: string }[] {
  const messages = [];
  for (let i = 0; i < count; i++) {
    const site = `site-0${(i % 3) + 1}`;
    const zone = `zone-0${(Math.floor(i / 3) % 5) + 1}`;
    const device = deviceId(site, zone, Math.floor(i / 15) % 3);
    const sensor = SENSOR_TYPES[Math.floor(i / 45) % 4] ?? 'co2';
    const [lo, hi] = SENSORS[sensor].normal;
    const value = sensor === 'occupancy' ? i % 20 : lo + ((i * 7919) % 1000) * ((hi - lo) / 1000);
    messages.push({
      key: device,
      value: JSON.stringify({
        event_id: randomUUID(),
        device_id: device,
        site_id: site,
        zone_id: zone,
        sensor_type: sensor,
        value,
        ts_event: new Date(now - 3_600_000 + Math.floor((i / count) * 3_600_000)).toISOString(),
      }),
    });
  }
  return messages;
}

async function main(): Promise<void> {
  const platform = await startThrowawayPlatform();
  try {
    const kafka = new Kafka({ brokers: [platform.kafka.brokers], logLevel: logLevel.NOTHING });
    const topics = { events: 'bench.events', dlq: 'bench.dlq' };
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: topics.events, numPartitions: 12 },
        { topic: topics.dlq, numPartitions: 1 },
      ],
    });

    const sql = createSql({
      url: platform.postgres.url,
      poolSize: 10,
      logger,
      applicationName: 'bench',
    });
    await migrate(sql, DEFAULT_MIGRATIONS_DIR, logger);
    await ensurePartitions(sql, DEFAULT_LIMITS.maxAgeMs);

    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const messages = syntheticEvents(total, Date.now());
    const preloadStart = performance.now();
    const chunk = 5000;
    for (let i = 0; i < messages.length; i += chunk * 4) {
      await Promise.all(
        [0, 1, 2, 3].map((j) => {
          const part = messages.slice(i + j * chunk, i + (j + 1) * chunk);
          return part.length > 0
            ? producer.send({ topic: topics.events, messages: part })
            : Promise.resolve([]);
        }),
      );
    }
    const preloadSeconds = (performance.now() - preloadStart) / 1000;
    await producer.disconnect();

    const start = performance.now();
    const processor = await startProcessor({
      kafka,
      sql,
      logger,
      registry: new Registry(),
      topics,
      groupId: `bench-${randomUUID()}`,
      limits: DEFAULT_LIMITS,
      rules: DEFAULT_ALERT_RULES,
      partitionsConcurrently: 3,
    });
    let peakRss = 0;
    for (;;) {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from telemetry_events`;
      if ((row?.n ?? 0) >= total) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - start) / 1000;
    await processor.stop();
    await sql.end();
    await admin.disconnect();
    console.log(
      JSON.stringify(
        {
          benchmark: 'processor',
          events: total,
          preload_events_per_s: Math.round(total / preloadSeconds),
          processor_seconds: Number(seconds.toFixed(2)),
          processor_events_per_s: Math.round(total / seconds),
          peak_rss_mib_bench_process: Math.round(peakRss / 1048576),
          note: 'one replica, in-process, includes consumer group join; RSS includes the preloaded messages',
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
