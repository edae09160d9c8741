// The Kafka broker restarts mid-stream: the processor reconnects by itself (no restart of its
// own) and stores everything exactly once, before and after.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import {
  createKafka,
  createLogger,
  DEFAULT_ALERT_RULES,
  DEFAULT_LIMITS,
  ensureTopics,
  type TelemetryEvent,
} from '@telemetrypulse/shared';
import { startKafkaBroker, type KafkaBroker } from '../../../devstack/src/kafka-broker.ts';
import { freePorts } from '../../../devstack/src/ports.ts';
import { createTestDatabase, type TestDatabase } from '../../../devstack/src/test/database.ts';
import { startProcessor, type Processor } from '../../src/consumer.ts';
import { rawCounts, syntheticEvents, windowMismatches } from '../invariants.ts';
import { waitUntil } from '../support.ts';

const logger = createLogger('test', 'silent');
const topics = { events: 'restart.events', dlq: 'restart.dlq', alerts: 'restart.alerts' };

function client(brokers: string): Kafka {
  return new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING, clientId: 'restart-test' });
}

async function produce(brokers: string, events: readonly TelemetryEvent[]): Promise<void> {
  const producer = client(brokers).producer();
  await producer.connect();
  try {
    await producer.send({
      topic: topics.events,
      acks: -1,
      messages: events.map((e) => ({ key: e.device_id, value: JSON.stringify(e) })),
    });
  } finally {
    await producer.disconnect();
  }
}

/** True when the group has committed every partition up to its end (false while unreachable). */
async function caughtUp(brokers: string, groupId: string): Promise<boolean> {
  const admin = new Kafka({
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topics.events);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topics.events] });
    const byPartition = new Map(committed?.partitions.map((p) => [p.partition, p.offset]));
    return ends.every((end) => end.high === '0' || byPartition.get(end.partition) === end.high);
  } catch {
    return false;
  } finally {
    await admin.disconnect();
  }
}

describe('processor when the Kafka broker restarts (a broker of its own + real PostgreSQL)', () => {
  let dir: string;
  let broker: KafkaBroker | undefined;
  let db: TestDatabase | undefined;
  let processor: Processor | undefined;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-broker-restart-'));
    chmodSync(dir, 0o755);
  });
  after(async () => {
    await processor?.stop();
    await broker?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when the broker stops mid-stream and comes back on the same address, then the processor reconnects and every event is stored once', async function () {
    this.timeout(240_000);
    const [port = 0, controllerPort = 0] = await freePorts(2);
    const brokerOptions = { dir: path.join(dir, 'kafka'), port, controllerPort, heapMb: 512 };
    broker = await startKafkaBroker(brokerOptions);
    const brokers = broker.brokers;
    const admin = client(brokers).admin();
    await admin.connect();
    try {
      await ensureTopics(
        admin,
        Object.values(topics).map((topic) => ({ topic, numPartitions: 3 })),
      );
    } finally {
      await admin.disconnect();
    }
    db = await createTestDatabase();
    const testDb = db;
    const group = `g-${randomUUID()}`;
    processor = await startProcessor({
      // The factory main.ts uses, with its retry settings.
      kafka: createKafka({ brokers, clientId: 'processor', logger }),
      sql: testDb.sql,
      logger,
      registry: new Registry(),
      topics,
      groupId: group,
      limits: DEFAULT_LIMITS,
      rules: DEFAULT_ALERT_RULES,
      partitionsConcurrently: 3,
      sessionTimeoutMs: 6000,
    });
    const events = syntheticEvents(4_000, 'site-br');
    await produce(brokers, events.slice(0, 2_000));
    await waitUntil('the first half committed', () => caughtUp(brokers, group), 60_000);

    await broker.stop();
    broker = await startKafkaBroker(brokerOptions);
    await produce(brokers, events.slice(2_000));

    await waitUntil('the second half committed', () => caughtUp(brokers, group), 180_000);
    assert.deepEqual(await rawCounts(testDb), { rows: 4_000, distinct: 4_000 });
    assert.deepEqual(await windowMismatches(testDb), []);
    assert.equal(processor.isRunning(), true, 'back in its group');
  });
});
