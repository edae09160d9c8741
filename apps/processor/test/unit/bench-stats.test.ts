import assert from 'node:assert/strict';
import { sample } from '../../bench/percentiles.ts';
import { quantile, rounded, spread, toJson } from '../../bench/stats.ts';
import { transactionState, waitsAfterBegin } from '../../bench/transaction-states.ts';

describe('spread', () => {
  it('when the count is odd, then the median is the middle value', () => {
    assert.deepEqual(spread([3, 1, 2]), { min: 1, median: 2, max: 3 });
  });

  it('when the count is even, then the median is the mean of the middle two', () => {
    assert.deepEqual(spread([4, 1, 3, 2]), { min: 1, median: 2.5, max: 4 });
  });

  it('when a run has no figure, then it is left out, and no figure at all gives undefined', () => {
    assert.deepEqual(spread([5, undefined, Number.NaN]), { min: 5, median: 5, max: 5 });
    assert.equal(spread([undefined]), undefined);
  });
});

describe('quantile', () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);

  it('when asked for p50 and p99 of 1…100, then they are 50 and 99', () => {
    assert.equal(quantile(values, 0.5), 50);
    assert.equal(quantile(values, 0.99), 99);
  });

  it('when there is one value or none, then it is that value or undefined', () => {
    assert.equal(quantile([7], 0.99), 7);
    assert.equal(quantile([], 0.5), undefined);
  });
});

describe('rounded', () => {
  it('when digits are given, then each of min, median and max is rounded to them', () => {
    assert.deepEqual(rounded({ min: 1.234, median: 2.345, max: 3.456 }, 1), {
      min: 1.2,
      median: 2.3,
      max: 3.5,
    });
    assert.equal(rounded(undefined), null);
  });
});

describe('toJson', () => {
  it('when a value holds spreads, then each prints on one line and the whole still parses', () => {
    const value = { rate: { min: 1, median: 2, max: 3 }, runs: 3 };
    const text = toJson(value);
    assert.match(text, /"rate": \{ "min": 1, "median": 2, "max": 3 \}/);
    assert.deepEqual(JSON.parse(text), value);
  });
});

describe('sample', () => {
  it('when a metric is in the text, then its value is read, labelled or not; absent is 0', () => {
    const text = 'a_total 12\nb_seconds_sum{le="x"} 1.5\n';
    assert.equal(sample(text, 'a_total'), 12);
    assert.equal(sample(text, 'b_seconds_sum'), 1.5);
    assert.equal(sample(text, 'c_total'), 0);
  });
});

describe('transactionState', () => {
  it('when the backend is idle inside the transaction, then it waits for the replica', () => {
    for (const state of ['idle in transaction', 'idle in transaction (aborted)']) {
      assert.equal(transactionState({ state, wait_event_type: 'Client' }), 'waitingForReplica');
    }
  });

  it('when the backend is active, then its wait event says what it does', () => {
    const active = (wait: string | null) =>
      transactionState({ state: 'active', wait_event_type: wait });
    assert.equal(active(null), 'working');
    assert.equal(active('Client'), 'waitingForReplica');
    assert.equal(active('Lock'), 'lock');
    assert.equal(active('IO'), 'io');
    assert.equal(active('LWLock'), 'io');
    assert.equal(active('Timeout'), 'working');
  });
});

describe('waitsAfterBegin', () => {
  it('when the last query was BEGIN, then the transaction has not started its work', () => {
    assert.equal(waitsAfterBegin('begin'), true);
    assert.equal(waitsAfterBegin('BEGIN isolation lev'), true);
  });

  it('when the last query was the statement or a later one, then it has', () => {
    assert.equal(waitsAfterBegin('\n    with input as ('), false);
    assert.equal(waitsAfterBegin('update alert_watermar'), false);
    assert.equal(waitsAfterBegin('beginning'), false);
  });
});
