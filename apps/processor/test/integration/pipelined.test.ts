// Two store transactions in flight (STORE_TRANSACTIONS_IN_FLIGHT=2): a SIGKILL after one of them
// committed and while the other is still in flight must lose nothing and store nothing twice.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  groupCaughtUp,
  rawCounts,
  syntheticEvents,
  testBrokers,
  testKafka,
  usePipelineFixture,
  waitUntil,
  windowMismatches,
  type TestDatabase,
} from '@telemetrypulse/devstack/test';
import type { TelemetryEvent } from '@telemetrypulse/shared';
import { spawnProcessor } from '../processor-process.ts';

/** Events to one partition, whatever their keys (the test decides which lane holds what). */
async function produceTo(topic: string, partition: number, events: readonly TelemetryEvent[]) {
  const producer = testKafka().producer();
  await producer.connect();
  try {
    for (let i = 0; i < events.length; i += 2000) {
      await producer.send({
        topic,
        acks: -1,
        messages: events
          .slice(i, i + 2000)
          .map((e) => ({ partition, key: e.device_id, value: JSON.stringify(e) })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** The group's committed offset of each partition (-1: none). */
async function committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(committed?.partitions.map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

async function storedOf(db: TestDatabase, siteId: string): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from telemetry_events where site_id = ${siteId}`;
  return row?.n ?? 0;
}

/** Processor connections waiting on a lock this test holds. */
async function lockWaiters(db: TestDatabase): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and wait_event_type = 'Lock'`;
  return row?.n ?? 0;
}

describe('processor with two store transactions in flight (real Kafka + PostgreSQL)', () => {
  const fx = usePipelineFixture(2);
  const { processors } = fx;

  it('when the processor is killed with SIGKILL after one transaction committed and while the other is in flight, then only the committed one has its offsets committed, and after a restart every event is stored once and aggregates equal the raw rows', async () => {
    const { db, topics } = fx;
    const group = `g-${randomUUID()}`;
    const free = syntheticEvents(6_000, 'site-free');
    const held = syntheticEvents(6_000, 'site-held');
    await produceTo(topics.events, 0, free);
    await produceTo(topics.events, 1, held);

    // The test holds site-held's row: every transaction with its events waits on it, in flight,
    // while partition 0's transactions (site-free only) go through the other lane.
    await db.sql`insert into sites (site_id) values ('site-held')`;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked: () => void = () => undefined;
    const lockTaken = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holding = db.sql.begin(async (tx) => {
      await tx`select 1 from sites where site_id = 'site-held' for update`;
      locked();
      await released;
    });
    await lockTaken;

    try {
      const victim = spawnProcessor({
        brokers: testBrokers(),
        databaseUrl: db.url,
        topics,
        groupId: group,
        env: { STORE_TRANSACTIONS_IN_FLIGHT: '2' },
      });
      processors.push(victim);
      await waitUntil(
        "partition 0 stored and committed, partition 1's transaction waiting on the lock",
        async () =>
          (await storedOf(db, 'site-free')) === free.length &&
          (await committedOffsets(group, topics.events)).get(0) === String(free.length) &&
          (await lockWaiters(db)) > 0,
        90_000,
      );
      assert.equal(await storedOf(db, 'site-held'), 0);
      assert.equal(
        (await committedOffsets(group, topics.events)).get(1),
        '-1',
        "partition 1's offsets are not committed before its transaction",
      );
      victim.child.kill('SIGKILL');
      assert.equal(await victim.exited, 'SIGKILL');
    } finally {
      release();
      await holding;
    }

    const survivor = spawnProcessor({
      brokers: testBrokers(),
      databaseUrl: db.url,
      topics,
      groupId: group,
      env: { STORE_TRANSACTIONS_IN_FLIGHT: '2' },
    });
    processors.push(survivor);
    await waitUntil('the group caught up', () => groupCaughtUp(group, topics.events), 90_000);
    survivor.child.kill('SIGTERM');
    assert.equal(await survivor.exited, 0, survivor.output());

    const total = free.length + held.length;
    assert.deepEqual(await rawCounts(db), { rows: total, distinct: total });
    assert.equal(await storedOf(db, 'site-held'), held.length);
    assert.deepEqual(await windowMismatches(db), []);
  });
});
