import assert from 'node:assert/strict';
import { createLagBook, partitionLag } from '../../src/ops/lag.ts';
import { lagGauge } from '../lag-gauge.ts';

describe('partitionLag', () => {
  it('when the position is behind the end, then the lag is the messages between them', () => {
    assert.equal(partitionLag('120', 100n), 20);
  });

  it('when the position is at or past the end, then the lag is 0', () => {
    assert.equal(partitionLag('100', 100n), 0);
    assert.equal(partitionLag('100', 101n), 0);
  });

  it('when offsets exceed 2^53, then the difference is still exact', () => {
    assert.equal(partitionLag('9007199254740999', 9007199254740990n), 9);
  });
});

describe('createLagBook', () => {
  it('when a batch of an owned partition is handled, then its lag is the end minus the next offset', async () => {
    const { gauge, series } = lagGauge();
    const book = createLagBook(gauge);
    book.assign({ events: [0, 1] });
    book.consumed('events', 0, '50', '39');
    book.consumed('events', 1, '10', '9');

    assert.deepEqual(await series(), { 'events/0': 10, 'events/1': 0 });
  });

  it('when the broker is read, then the lag counts from the commit, or from the start without one', async () => {
    const { gauge, series } = lagGauge();
    const book = createLagBook(gauge);
    book.assign({ events: [0, 1, 2] });
    book.refreshed(
      'events',
      [
        { partition: 0, high: '30', low: '0' },
        { partition: 1, high: '30', low: '5' },
        { partition: 2, high: '30', low: '0' },
        { partition: 3, high: '99', low: '0' },
      ],
      [
        { partition: 0, offset: '25' },
        { partition: 1, offset: '-1' },
      ],
    );

    // Partition 3 belongs to another replica: no series here.
    assert.deepEqual(await series(), { 'events/0': 5, 'events/1': 25, 'events/2': 30 });
  });

  it('when the commit is behind what this replica already consumed, then the consumed position counts', async () => {
    const { gauge, series } = lagGauge();
    const book = createLagBook(gauge);
    book.assign({ events: [0] });
    book.consumed('events', 0, '100', '89');
    book.refreshed(
      'events',
      [{ partition: 0, high: '120', low: '0' }],
      [{ partition: 0, offset: '40' }],
    );

    assert.deepEqual(await series(), { 'events/0': 30 });
  });

  it('when a rebalance revokes a partition, then its series disappears and the kept ones stay', async () => {
    const { gauge, series } = lagGauge();
    const book = createLagBook(gauge);
    book.assign({ events: [0, 1] });
    book.consumed('events', 0, '10', '4');
    book.consumed('events', 1, '10', '4');
    book.assign({ events: [1, 2] });
    book.consumed('events', 0, '10', '7');

    assert.deepEqual(await series(), { 'events/1': 5 });
  });

  it('when a revoked partition comes back, then what was consumed before does not count', async () => {
    const { gauge, series } = lagGauge();
    const book = createLagBook(gauge);
    book.assign({ events: [0] });
    book.consumed('events', 0, '100', '89');
    book.assign({});
    book.assign({ events: [0] });
    book.refreshed(
      'events',
      [{ partition: 0, high: '100', low: '0' }],
      [{ partition: 0, offset: '60' }],
    );

    assert.deepEqual(await series(), { 'events/0': 40 });
  });

  it('when cleared, then no series is left', async () => {
    const { gauge, series } = lagGauge();
    const book = createLagBook(gauge);
    book.assign({ events: [0] });
    book.consumed('events', 0, '10', '4');
    book.clear();

    assert.deepEqual(await series(), {});
    assert.deepEqual(book.owned(), {});
  });
});
