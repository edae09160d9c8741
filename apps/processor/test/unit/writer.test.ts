import assert from 'node:assert/strict';
import { createLogger, type TelemetryEvent } from '@telemetrypulse/shared';
import type { StoreResult } from '../../src/ingest/store.ts';
import { copyOrigins } from '../../src/ingest/origins.ts';
import {
  createWriter,
  type OffsetCommit,
  type PendingBatch,
  type RefusedEvent,
} from '../../src/ingest/writer.ts';

const logger = createLogger('test', 'silent');

function batch(partition: number, nextOffset: number, events: number): PendingBatch {
  return {
    source: { topic: 'events', partition },
    nextOffset: String(nextOffset),
    events: Array.from({ length: events }, () => ({}) as TelemetryEvent),
    origins: copyOrigins(
      Array.from({ length: events }, (_, i) => ({
        offset: String(nextOffset - events + i),
        value: null,
      })),
    ),
    messages: events,
    receivedAt: 0,
  };
}

/** A promise with its resolve function, to hold a step until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('writer', () => {
  it("when a group's offset commit is slow, then the next group is stored meanwhile, and commits still go in order before drain resolves", async () => {
    const log: string[] = [];
    const firstCommit = gate();
    const stores: number[] = [];
    const commits: OffsetCommit[][] = [];
    const writer = createWriter({
      logger,
      store: (events) => {
        stores.push(events.length);
        log.push(`store ${events.length}`);
        return Promise.resolve({
          stored: events,
          duplicates: 0,
          incidents: [],
          transitions: [],
        } satisfies StoreResult);
      },
      commit: async (offsets) => {
        log.push(`commit ${offsets.map((o) => o.offset).join(',')} begins`);
        if (commits.length === 0) {
          commits.push(offsets);
          await firstCommit.promise;
        } else commits.push(offsets);
        log.push(`commit ${offsets.map((o) => o.offset).join(',')} ends`);
      },
      deadLetter: () => Promise.resolve(),
      keepGoing: () => true,
      heartbeat: () => Promise.resolve(),
      onRetry: () => undefined,
      onStored: (group) => log.push(`stored ${group.batches.length}`),
      maxWaitingEvents: 1000,
      heartbeatIntervalMs: 1000,
    });

    assert.equal(writer.add(batch(0, 10, 3)), true);
    await tick();
    await tick();
    // The first group is stored and its commit hangs; a second group arrives.
    assert.equal(writer.add(batch(1, 20, 5)), true);
    for (let i = 0; i < 5; i++) await tick();
    assert.deepEqual(stores, [3, 5], 'the second group is stored while the first commit waits');
    assert.equal(commits.length, 1, 'the second commit waits for the first');

    let drained = false;
    const draining = writer.drain().then(() => {
      drained = true;
    });
    await tick();
    assert.equal(drained, false, 'drain waits for the pending commits');
    firstCommit.open();
    await draining;
    assert.deepEqual(log, [
      'store 3',
      'commit 10 begins',
      'store 5',
      'commit 10 ends',
      'stored 1',
      'commit 20 begins',
      'commit 20 ends',
      'stored 1',
    ]);
    assert.deepEqual(
      commits.map((c) => c.map((o) => [o.partition, o.offset])),
      [[[0, '10']], [[1, '20']]],
    );
  });

  it('when the database refuses one event of a group, then it is dead-lettered with the batch and message it came from before the offsets are committed, and the rest is stored', async () => {
    const log: string[] = [];
    const refusedDevice = 'p1-o21';
    const devices = (p: number, from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ device_id: `p${p}-o${from + i}` }) as TelemetryEvent);
    const batchOf = (partition: number, from: number, n: number): PendingBatch => ({
      source: { topic: 'events', partition },
      nextOffset: String(from + n),
      events: devices(partition, from, n),
      origins: copyOrigins(
        Array.from({ length: n }, (_, i) => ({ offset: String(from + i), value: null })),
      ),
      messages: n,
      receivedAt: 0,
    });
    let letters: RefusedEvent[] = [];
    const writer = createWriter({
      logger,
      store: (events) => {
        if (events.some((e) => e.device_id === refusedDevice)) {
          return Promise.reject(
            Object.assign(new Error('violates check constraint'), {
              name: 'PostgresError',
              code: '23514',
            }),
          );
        }
        log.push(`store ${events.length}`);
        return Promise.resolve({ stored: events, duplicates: 0, incidents: [], transitions: [] });
      },
      deadLetter: (refused) => {
        letters = refused;
        log.push(`dead-letter ${refused.length}`);
        return Promise.resolve();
      },
      commit: (offsets) => {
        log.push(`commit ${offsets.map((o) => `${o.partition}:${o.offset}`).join(',')}`);
        return Promise.resolve();
      },
      keepGoing: () => true,
      heartbeat: () => Promise.resolve(),
      onRetry: () => undefined,
      onStored: (group) => log.push(`recorded ${group.result.stored.length}`),
      maxWaitingEvents: 1000,
      heartbeatIntervalMs: 1000,
    });
    writer.add(batchOf(0, 0, 10));
    writer.add(batchOf(1, 20, 5));
    await writer.drain();

    assert.deepEqual(
      letters.map((l) => [l.source.partition, l.message.offset, l.event.device_id]),
      [[1, '21', refusedDevice]],
    );
    assert.equal(log.at(-3), 'dead-letter 1');
    assert.equal(log.at(-2), 'commit 0:10,1:25');
    assert.equal(log.at(-1), 'recorded 14');
    assert.equal(
      log.filter((l) => l.startsWith('store')).reduce((n, l) => n + Number(l.split(' ')[1]), 0),
      14,
    );
  });

  describe('with two transactions in flight', () => {
    /** A writer whose stores wait until the test opens them, one gate per store call. */
    function gatedWriter(transactionsInFlight: number, failFirst?: (events: number) => boolean) {
      const log: string[] = [];
      const gates: { events: number; open: () => void; fail: (e: Error) => void }[] = [];
      const commits: OffsetCommit[][] = [];
      let stored = 0;
      const writer = createWriter({
        logger,
        store: (events) => {
          log.push(`store ${events.length} begins`);
          return new Promise<StoreResult>((resolve, reject) => {
            gates.push({
              events: events.length,
              open: () => {
                stored += events.length;
                log.push(`store ${events.length} ends`);
                resolve({ stored: events, duplicates: 0, incidents: [], transitions: [] });
              },
              fail: (error) => {
                log.push(`store ${events.length} fails`);
                reject(error);
              },
            });
            if (failFirst?.(events.length) === true) {
              failFirst = undefined;
              gates.at(-1)?.fail(
                Object.assign(new Error('deadlock detected'), {
                  name: 'PostgresError',
                  code: '40P01',
                }),
              );
            }
          });
        },
        commit: (offsets) => {
          commits.push(offsets);
          log.push(`commit ${offsets.map((o) => `${o.partition}:${o.offset}`).join(',')}`);
          return Promise.resolve();
        },
        deadLetter: () => Promise.resolve(),
        keepGoing: () => true,
        heartbeat: () => Promise.resolve(),
        onRetry: () => undefined,
        onStored: () => undefined,
        maxWaitingEvents: 1000,
        heartbeatIntervalMs: 1000,
        transactionsInFlight,
      });
      return { writer, log, gates, commits, stored: () => stored };
    }

    const settle = async () => {
      for (let i = 0; i < 10; i++) await tick();
    };

    it('when batches of two partitions arrive, then two transactions are in flight at once, and each commits only its own offsets once it is stored, the later one first if it ends first', async () => {
      const { writer, log, gates } = gatedWriter(2);
      writer.add(batch(0, 10, 3));
      writer.add(batch(1, 20, 5));
      await settle();
      assert.deepEqual(log, ['store 3 begins', 'store 5 begins'], 'both in flight');

      gates[1]?.open();
      await settle();
      assert.deepEqual(log.slice(2), ['store 5 ends', 'commit 1:20'], 'partition 0 not committed');

      gates[0]?.open();
      await writer.drain();
      assert.deepEqual(log.slice(4), ['store 3 ends', 'commit 0:10']);
    });

    it("when a partition's next batch arrives while its first is being stored, then it waits for that transaction, and its offsets are committed in order", async () => {
      const { writer, log, gates } = gatedWriter(2);
      writer.add(batch(0, 10, 3));
      await settle();
      // The other lane is idle, but partition 0 is held by the first: the batch waits there.
      writer.add(batch(0, 14, 4));
      writer.add(batch(1, 20, 5));
      await settle();
      assert.deepEqual(log, ['store 3 begins', 'store 5 begins']);

      gates[0]?.open();
      await settle();
      assert.deepEqual(log.slice(2), ['store 3 ends', 'commit 0:10', 'store 4 begins']);
      gates[2]?.open();
      await settle();
      assert.deepEqual(log.slice(5), ['store 4 ends', 'commit 0:14']);
      gates[1]?.open();
      await writer.drain();
      assert.deepEqual(log.slice(7), ['store 5 ends', 'commit 1:20']);
    });

    it('when one lane has nothing held, then a partition that is free again goes to it rather than waiting behind a busy transaction', async () => {
      const { writer, log, gates } = gatedWriter(2);
      writer.add(batch(0, 10, 3));
      writer.add(batch(1, 20, 5));
      await settle();
      gates[0]?.open();
      await settle();
      // Partition 0 is free and lane 0 idle; lane 1 still busy with partition 1.
      writer.add(batch(0, 12, 2));
      await settle();
      assert.deepEqual(log, [
        'store 3 begins',
        'store 5 begins',
        'store 3 ends',
        'commit 0:10',
        'store 2 begins',
      ]);
      gates[2]?.open();
      gates[1]?.open();
      await writer.drain();
      assert.deepEqual(log.slice(5).sort(), [
        'commit 0:12',
        'commit 1:20',
        'store 2 ends',
        'store 5 ends',
      ]);
    });

    it('when limited to one transaction while two are in flight, then both finish, a held partition stays on its lane, and from then on only one transaction is in flight', async () => {
      const { writer, log, gates } = gatedWriter(2);
      writer.add(batch(0, 10, 3));
      writer.add(batch(1, 20, 5));
      await settle();
      assert.equal(writer.limitTransactions(1), 1);
      // Partition 1 is still held by the second lane: its next batch waits there, in order.
      writer.add(batch(1, 25, 4));
      gates[1]?.open();
      await settle();
      assert.deepEqual(log.slice(2), ['store 5 ends', 'commit 1:20', 'store 4 begins']);
      gates[2]?.open();
      gates[0]?.open();
      await settle();
      // Both partitions free: their next batches share the one open lane, one group at a time.
      writer.add(batch(0, 13, 2));
      writer.add(batch(1, 29, 6));
      await settle();
      assert.deepEqual(log.slice(-1), ['store 8 begins'], 'one group of both partitions');
      gates[3]?.open();
      await writer.drain();
      assert.equal(log.at(-1), 'commit 0:13,1:29');
      assert.equal(writer.limitTransactions(5), 2, 'never more than the writer was made with');
    });

    it('when one transaction fails with a deadlock, then it is stored again and every event is stored once, its offsets committed only after the retry', async () => {
      const { writer, log, gates, stored } = gatedWriter(2, (events) => events === 3);
      writer.add(batch(0, 10, 3));
      writer.add(batch(1, 20, 5));
      await settle();
      gates[1]?.open();
      await settle();
      assert.ok(!log.includes('commit 0:10'), 'not committed after the deadlock');
      // The retry sleeps backoffMs(0) = 250 ms, then stores the group again.
      while (gates.length < 3) await new Promise((r) => setTimeout(r, 20));
      gates[2]?.open();
      await writer.drain();
      assert.deepEqual(log, [
        'store 3 begins',
        'store 3 fails',
        'store 5 begins',
        'store 5 ends',
        'commit 1:20',
        'store 3 begins',
        'store 3 ends',
        'commit 0:10',
      ]);
      assert.equal(stored(), 8);
    });

    it('when one transaction is allowed in flight, then the second partition waits for the first group, as before', async () => {
      const { writer, log, gates } = gatedWriter(1);
      writer.add(batch(0, 10, 3));
      await settle();
      writer.add(batch(1, 20, 5));
      await settle();
      assert.deepEqual(log, ['store 3 begins']);
      gates[0]?.open();
      await settle();
      gates[1]?.open();
      await writer.drain();
      assert.deepEqual(log, [
        'store 3 begins',
        'store 3 ends',
        'commit 0:10',
        'store 5 begins',
        'store 5 ends',
        'commit 1:20',
      ]);
    });
  });
});
