import assert from 'node:assert/strict';
import type { TelemetryEvent } from '@telemetrypulse/shared';
import { StatementRefused, storeIsolating, type Retrier } from '../../src/ingest/isolate.ts';
import type { StoreResult } from '../../src/ingest/store.ts';

function postgresError(code: string, message = `refused with ${code}`) {
  return Object.assign(new Error(message), { name: 'PostgresError', code });
}

const events = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ device_id: `d${i}` }) as TelemetryEvent);

/**
 * A database that refuses any transaction holding one of the `refused` devices with that error,
 * stores the others, and records every transaction tried (the devices of each).
 */
function database(refused: Record<string, Error>, failFirst: Error[] = []) {
  const tried: string[][] = [];
  const stored: string[] = [];
  const store = (part: TelemetryEvent[]): Promise<StoreResult> => {
    const devices = part.map((e) => e.device_id);
    tried.push(devices);
    const transient = failFirst.shift();
    if (transient) return Promise.reject(transient);
    const bad = devices.map((d) => refused[d]).find((e) => e !== undefined);
    if (bad) return Promise.reject(bad);
    stored.push(...devices);
    return Promise.resolve({ stored: part, duplicates: 0, incidents: [], transitions: [] });
  };
  return { store, tried, stored };
}

/** Retries right away, as often as `times`; rethrows after that. */
function retrier(times = 5): Retrier & { errors: unknown[] } {
  const errors: unknown[] = [];
  const retry = async (work: () => Promise<void>) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await work();
        return;
      } catch (error) {
        errors.push(error);
        if (attempt >= times) throw error;
      }
    }
  };
  return Object.assign(retry, { errors });
}

describe('storeIsolating', () => {
  it('when the database takes the group, then it is one transaction and nothing is refused', async () => {
    const db = database({});
    const { result, refused } = await storeIsolating(events(100), db.store, retrier());
    assert.equal(db.tried.length, 1);
    assert.equal(result.stored.length, 100);
    assert.deepEqual(refused, []);
  });

  it('when the database refuses the data of some events, then exactly those are refused and every other one is stored once, in order', async () => {
    const group = events(1000);
    const db = database({
      d17: postgresError('22P02'),
      d500: postgresError('23514'),
      d501: postgresError('22021'),
    });
    const { result, refused } = await storeIsolating(group, db.store, retrier());

    assert.deepEqual(
      refused.map((r) => [r.index, (r.error as { code: string }).code]),
      [
        [17, '22P02'],
        [500, '23514'],
        [501, '22021'],
      ],
    );
    const expected = group
      .map((e) => e.device_id)
      .filter((d) => !['d17', 'd500', 'd501'].includes(d));
    assert.deepEqual(db.stored.toSorted(), expected.toSorted(), 'each stored once');
    assert.deepEqual(
      result.stored.map((e) => e.device_id),
      expected,
      'the result in group order',
    );
    // Bisection: a few dozen transactions, not one per event.
    assert.ok(db.tried.length < 70, `${db.tried.length} transactions`);
  });

  it('when the only event of a group has data the database refuses, then it is refused', async () => {
    const db = database({ d0: postgresError('22P02') });
    const { result, refused } = await storeIsolating(events(1), db.store, retrier());
    assert.deepEqual(
      refused.map((r) => r.index),
      [0],
    );
    assert.equal(result.stored.length, 0);
  });

  it('when a transient error interrupts the search, then it is retried and resumes without storing anything twice', async () => {
    const group = events(64);
    const lost = Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' });
    const db = database({ d40: postgresError('23514') });
    // The first attempt fails permanently (d40); then the connection drops twice mid-search.
    const store = async (part: TelemetryEvent[]) => {
      if (db.tried.length === 3 || db.tried.length === 6) {
        db.tried.push(['(lost)']);
        throw lost;
      }
      return db.store(part);
    };
    const retry = retrier();
    const { refused } = await storeIsolating(group, store, retry);

    assert.deepEqual(retry.errors, [lost, lost]);
    assert.deepEqual(
      refused.map((r) => r.index),
      [40],
    );
    assert.equal(db.stored.length, 63);
    assert.equal(new Set(db.stored).size, 63, 'no event stored twice');
  });

  it('when the database refuses the statement for every event, then nothing is refused and the group is retried', async () => {
    for (const size of [1, 2, 1000]) {
      const db = database(
        Object.fromEntries(events(size).map((e) => [e.device_id, postgresError('42501')])),
      );
      const retry = retrier(2);
      await assert.rejects(storeIsolating(events(size), db.store, retry), StatementRefused);
      assert.equal(retry.errors.length, 3, `size ${size}: retried`);
      assert.ok(db.tried.length <= 9, `size ${size}: ${db.tried.length} transactions`);
    }
  });

  it('when the database refuses the statement for one event while others are stored, then that one is refused', async () => {
    const db = database({ d3: postgresError('P0001', 'device d3 is blocked') });
    const { refused } = await storeIsolating(events(8), db.store, retrier());
    assert.deepEqual(
      refused.map((r) => r.index),
      [3],
    );
    assert.equal(db.stored.length, 7);
  });

  it('when the statement is refused for the first event only, then it is refused once its neighbours are stored', async () => {
    const db = database({ d0: postgresError('42501') });
    const { refused } = await storeIsolating(events(3), db.store, retrier());
    assert.deepEqual(
      refused.map((r) => r.index),
      [0],
    );
    assert.deepEqual(db.stored.toSorted(), ['d1', 'd2']);
  });
});
