import assert from 'node:assert/strict';
import { createLogger, type TelemetryEvent } from '@telemetrypulse/shared';
import type { StoreResult } from '../../src/ingest/store.ts';
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
    origins: Array.from({ length: events }, (_, i) => ({
      offset: String(nextOffset - events + i),
      value: null,
    })),
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
      origins: Array.from({ length: n }, (_, i) => ({ offset: String(from + i), value: null })),
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
});
