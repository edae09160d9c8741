// The consumer lag tracker against a real broker and consumer group: the lag of a stuck consumer
// shows from the broker, handled batches bring it to 0, and a rebalance removes what is revoked.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Consumer } from 'kafkajs';
import { createLogger } from '@telemetrypulse/shared';
import { createTestTopics, testKafka, waitUntil } from '@telemetrypulse/devstack/test';
import { lagGauge } from '../lag-gauge.ts';
import { trackConsumerLag, type LagTracker } from '../../src/ops/lag.ts';

describe('consumer lag tracker (real Kafka)', () => {
  const consumers: Consumer[] = [];
  let tracker: LagTracker | undefined;
  let release: () => void = () => undefined;

  after(async function () {
    this.timeout(60_000);
    release();
    await tracker?.stop();
    await Promise.all(consumers.map((c) => c.disconnect()));
  });

  it('when the consumer is stuck, then the lag is what waits; once it consumes, 0; after a rebalance, only owned partitions', async function () {
    this.timeout(120_000);
    const topics = await createTestTopics(3);
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({
      topic: topics.events,
      acks: -1,
      messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: String(i) })),
    });
    await producer.disconnect();
    const admin = testKafka().admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topics.events);
    await admin.disconnect();
    const waiting = Object.fromEntries(ends.map((e) => [String(e.partition), Number(e.high)]));

    const groupId = `lag-${randomUUID()}`;
    const lag = lagGauge();
    const { gauge } = lag;
    const series = () => lag.series('partition');
    const consumer = testKafka().consumer({
      groupId,
      sessionTimeout: 6000,
      heartbeatInterval: 500,
    });
    consumers.push(consumer);
    await consumer.connect();
    tracker = trackConsumerLag({
      consumer,
      admin: testKafka().admin(),
      groupId,
      gauge,
      logger: createLogger('test', 'silent'),
      refreshMs: 300,
    });
    let assigned: number[] = [];
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      assigned = [...(payload.memberAssignment[topics.events] ?? [])].sort((a, b) => a - b);
    });
    let stuck = true;
    const unstuck = new Promise<void>((resolve) => {
      release = resolve;
    });
    await consumer.subscribe({ topic: topics.events, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async (payload) => {
        while (stuck) {
          await Promise.race([unstuck, new Promise((r) => setTimeout(r, 500))]);
          await payload.heartbeat();
        }
      },
    });

    // Nothing handled or committed: every message of every partition is lag.
    await waitUntil('the lag shows every waiting message', async () => {
      const now = await series();
      return JSON.stringify(now) === JSON.stringify(waiting);
    }).catch(() => undefined);
    assert.deepEqual(await series(), waiting);

    stuck = false;
    release();
    const caughtUp = { '0': 0, '1': 0, '2': 0 };
    await waitUntil('the lag is 0 once the batches are handled', async () => {
      return JSON.stringify(await series()) === JSON.stringify(caughtUp);
    }).catch(() => undefined);
    assert.deepEqual(await series(), caughtUp);

    // A second member takes some partitions: their series leave this replica's gauge.
    const other = testKafka().consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 });
    consumers.push(other);
    await other.connect();
    await other.subscribe({ topic: topics.events, fromBeginning: true });
    await other.run({ eachBatch: () => Promise.resolve() });
    await waitUntil('the rebalance left this replica fewer partitions', async () => {
      const owned = Object.keys(await series())
        .map(Number)
        .sort((a, b) => a - b);
      return assigned.length < 3 && JSON.stringify(owned) === JSON.stringify(assigned);
    }).catch(() => undefined);
    assert.ok(assigned.length < 3, `still owns ${assigned.join(',')}`);
    assert.deepEqual(
      Object.keys(await series())
        .map(Number)
        .sort((a, b) => a - b),
      assigned,
    );
  });
});
