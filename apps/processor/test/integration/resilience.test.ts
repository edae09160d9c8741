// Exactly-once effect under crashes, restarts and rebalances: whatever happens, every valid event
// is stored once and every aggregate equals a recomputation from the raw rows.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import {
  groupCaughtUp,
  produceEvents,
  rawCounts,
  syntheticEvents,
  testBrokers,
  type TestDatabase,
  usePipelineFixture,
  waitUntil,
  windowMismatches,
} from '@telemetrypulse/devstack/test';
import { startConsumerOnly } from '../support.ts';
import { spawnProcessor } from '../processor-process.ts';

/** The replica's telemetry_processor_store_transactions_limit. */
async function transactionsLimit(registry: Registry): Promise<number | undefined> {
  const metric = await registry
    .getSingleMetric('telemetry_processor_store_transactions_limit')
    ?.get();
  return metric?.values[0]?.value;
}

async function assertExactlyOnce(db: TestDatabase, expected: number): Promise<void> {
  assert.deepEqual(await rawCounts(db), { rows: expected, distinct: expected });
  assert.deepEqual(await windowMismatches(db), []);
}

describe('processor resilience (real Kafka + PostgreSQL)', () => {
  const fx = usePipelineFixture(6);
  // Processes, processors and publishers alike: the fixture stops them after each test.
  const { processors } = fx;

  it('when the processor is killed with SIGKILL mid-stream twice and restarted, then every event is stored once and aggregates equal the raw rows; SIGTERM then exits 0 with everything committed', async () => {
    const { db, topics } = fx;
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
      processors.push(victim);
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
    processors.push(survivor);
    await waitUntil('the group caught up', () => groupCaughtUp(group, topics.events), 90_000);
    survivor.child.kill('SIGTERM');
    assert.equal(await survivor.exited, 0, survivor.output());
    await assertExactlyOnce(db, total);
  });

  it('when a second replica joins mid-stream and the first leaves, then the rebalances neither drop nor duplicate anything, and the two share the store transactions while both are members', async () => {
    const { db, topics } = fx;
    const group = `g-${randomUUID()}`;
    const registries = [new Registry(), new Registry()] as const;
    const start = (registry: Registry) =>
      startConsumerOnly({
        sql: db.sql,
        topics,
        groupId: group,
        sessionTimeoutMs: 6000,
        transactionsInFlight: 2,
        registry,
      });
    const limits = () => Promise.all(registries.map(transactionsLimit));
    const events = syntheticEvents(24_000, 'site-r');
    const first = await start(registries[0]);
    processors.push(first);
    await produceEvents(topics.events, events.slice(0, 8_000));
    processors.push(await start(registries[1]));
    await waitUntil('each replica keeps one of the two transactions', async () => {
      const [a, b] = await limits();
      return a === 1 && b === 1;
    });
    await produceEvents(topics.events, events.slice(8_000, 16_000));
    // A clean leave: its in-flight batches commit, then its partitions move to the other replica.
    await first.stop();
    processors.splice(processors.indexOf(first), 1);
    await produceEvents(topics.events, events.slice(16_000));

    await waitUntil('the group caught up', () => groupCaughtUp(group, topics.events), 90_000);
    await waitUntil('the one left keeps both transactions', async () => {
      return (await transactionsLimit(registries[1])) === 2;
    });
    await assertExactlyOnce(db, events.length);
  });
});
