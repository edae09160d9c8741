// Exactly-once effect under crashes, restarts and rebalances: whatever happens, every valid event
// is stored once and every aggregate equals a recomputation from the raw rows.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { createLogger, DEFAULT_ALERT_RULES, DEFAULT_LIMITS } from '@telemetrypulse/shared';
import { createTestDatabase, type TestDatabase } from '../../../devstack/src/test/database.ts';
import {
  createTestTopics,
  testBrokers,
  testKafka,
  type TestTopics,
} from '../../../devstack/src/test/kafka.ts';
import { startProcessor, type Processor } from '../../src/ingest/consumer.ts';
import { windowMismatches, rawCounts, syntheticEvents } from '../invariants.ts';
import { spawnProcessor, type ProcessorProcess } from '../processor-process.ts';
import { groupCaughtUp, produceEvents, waitUntil } from '../support.ts';

const logger = createLogger('test', 'silent');

async function assertExactlyOnce(db: TestDatabase, expected: number): Promise<void> {
  assert.deepEqual(await rawCounts(db), { rows: expected, distinct: expected });
  assert.deepEqual(await windowMismatches(db), []);
}

describe('processor resilience (real Kafka + PostgreSQL)', () => {
  let db: TestDatabase;
  let topics: TestTopics;
  const children: ProcessorProcess[] = [];
  const processors: Processor[] = [];

  beforeEach(async () => {
    db = await createTestDatabase();
    topics = await createTestTopics(6);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      await c.exited;
    }
    await Promise.all(processors.splice(0).map((p) => p.stop()));
    await db.drop();
  });

  it('when the processor is killed with SIGKILL mid-stream twice and restarted, then every event is stored once and aggregates equal the raw rows; SIGTERM then exits 0 with everything committed', async () => {
    const total = 40_000;
    await produceEvents(topics.events, syntheticEvents(total, 'site-k'));
    const group = `g-${randomUUID()}`;

    // Kill points well below the total, so each kill lands while most of the work is left.
    for (const killAt of [4_000, 9_000]) {
      const victim = spawnProcessor({
        brokers: testBrokers(),
        databaseUrl: db.url,
        topics,
        groupId: group,
      });
      children.push(victim);
      await waitUntil(
        `${killAt} rows stored`,
        async () => (await rawCounts(db)).rows >= killAt,
        90_000,
      );
      victim.child.kill('SIGKILL');
      assert.equal(await victim.exited, 'SIGKILL');
      assert.ok((await rawCounts(db)).rows < total, 'killed while work was left');
    }

    const survivor = spawnProcessor({
      brokers: testBrokers(),
      databaseUrl: db.url,
      topics,
      groupId: group,
    });
    children.push(survivor);
    await waitUntil('the group caught up', () => groupCaughtUp(group, topics.events), 90_000);
    survivor.child.kill('SIGTERM');
    assert.equal(await survivor.exited, 0, survivor.output());
    await assertExactlyOnce(db, total);
  });

  it('when a second replica joins mid-stream and the first leaves, then the rebalances neither drop nor duplicate anything', async () => {
    const group = `g-${randomUUID()}`;
    const start = () =>
      startProcessor({
        kafka: testKafka(),
        sql: db.sql,
        logger,
        registry: new Registry(),
        topics,
        groupId: group,
        limits: DEFAULT_LIMITS,
        rules: DEFAULT_ALERT_RULES,
        partitionsConcurrently: 3,
        sessionTimeoutMs: 6000,
      });
    const events = syntheticEvents(24_000, 'site-r');
    const first = await start();
    processors.push(first);
    await produceEvents(topics.events, events.slice(0, 8_000));
    processors.push(await start());
    await produceEvents(topics.events, events.slice(8_000, 16_000));
    // A clean leave: its in-flight batches commit, then its partitions move to the other replica.
    await first.stop();
    processors.splice(processors.indexOf(first), 1);
    await produceEvents(topics.events, events.slice(16_000));

    await waitUntil('the group caught up', () => groupCaughtUp(group, topics.events), 90_000);
    await assertExactlyOnce(db, events.length);
  });
});
