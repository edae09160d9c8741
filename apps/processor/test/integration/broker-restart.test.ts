// The Kafka broker restarts mid-stream: the processor reconnects by itself (no restart of its
// own) and stores everything exactly once, before and after.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { createKafka, createLogger, ensureTopics } from '@telemetrypulse/shared';
import {
  createTestDatabase,
  freePorts,
  groupCaughtUp,
  type KafkaBroker,
  produceEvents,
  rawCounts,
  startKafkaBroker,
  syntheticEvents,
  type TestDatabase,
  waitUntil,
  windowMismatches,
} from '@telemetrypulse/devstack/test';
import type { Processor } from '../../src/ingest/consumer.ts';
import { startConsumerOnly } from '../support.ts';

const logger = createLogger('test', 'silent');
const topics = { events: 'restart.events', dlq: 'restart.dlq', alerts: 'restart.alerts' };

function client(brokers: string): Kafka {
  return new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING, clientId: 'restart-test' });
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
    // The same address before and after the restart.
    const kafka = client(brokers);
    const admin = kafka.admin();
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
    processor = await startConsumerOnly({
      // The factory main.ts uses, with its retry settings.
      kafka: createKafka({ brokers, clientId: 'processor', logger }),
      sql: testDb.sql,
      topics,
      groupId: group,
      sessionTimeoutMs: 6000,
    });
    const events = syntheticEvents(4_000, 'site-br');
    await produceEvents(topics.events, events.slice(0, 2_000), kafka);
    await waitUntil(
      'the first half committed',
      () => groupCaughtUp(group, topics.events, kafka),
      60_000,
    );

    await broker.stop();
    broker = await startKafkaBroker(brokerOptions);
    await produceEvents(topics.events, events.slice(2_000), kafka);

    await waitUntil(
      'the second half committed',
      () => groupCaughtUp(group, topics.events, kafka),
      180_000,
    );
    assert.deepEqual(await rawCounts(testDb), { rows: 4_000, distinct: 4_000 });
    assert.deepEqual(await windowMismatches(testDb), []);
    assert.equal(processor.isRunning(), true, 'back in its group');
  });
});
