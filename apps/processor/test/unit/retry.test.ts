// retryUntilDone really sleeps backoffMs between attempts (250 ms first): each test here fails at
// most once, so the whole file sleeps well under a second.
import assert from 'node:assert/strict';
import { backoffMs, GaveUp, retryUntilDone, type RetryControl } from '../../src/ingest/retry.ts';

interface Recorded {
  retries: { error: unknown; attempt: number; delayMs: number }[];
  heartbeats: number;
}

function control(keepGoing: () => boolean): { control: RetryControl; recorded: Recorded } {
  const recorded: Recorded = { retries: [], heartbeats: 0 };
  return {
    recorded,
    control: {
      keepGoing,
      heartbeat: () => {
        recorded.heartbeats++;
        return Promise.resolve();
      },
      onRetry: (error, attempt, delayMs) => recorded.retries.push({ error, attempt, delayMs }),
    },
  };
}

/** Work that fails `failures` times with numbered errors, then returns 'done'. */
function flaky(failures: number): { work: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    work: () => {
      calls++;
      return calls <= failures
        ? Promise.reject(new Error(`failure ${calls}`))
        : Promise.resolve('done');
    },
  };
}

describe('backoffMs', () => {
  it('when attempts grow, then the delay doubles from 250 ms', () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((a) => backoffMs(a)),
      [250, 500, 1000, 2000],
    );
  });

  it('when attempts are many, then the delay is capped at 15 s', () => {
    assert.equal(backoffMs(6), 15_000);
    assert.equal(backoffMs(16), 15_000);
    assert.equal(backoffMs(1000), 15_000);
  });

  it('when base and cap are given, then they are used', () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((a) => backoffMs(a, 100, 300)),
      [100, 200, 300, 300],
    );
  });
});

describe('retryUntilDone', () => {
  it('when the work succeeds at once, then its result is returned without retries', async () => {
    const { control: c, recorded } = control(() => true);
    assert.equal(await retryUntilDone(() => Promise.resolve(42), c), 42);
    assert.deepEqual(recorded.retries, []);
  });

  it('when the work fails and then succeeds, then its result is returned and onRetry saw the failure with its attempt and delay', async () => {
    const { control: c, recorded } = control(() => true);
    const { work, calls } = flaky(1);

    assert.equal(await retryUntilDone(work, c), 'done');

    assert.equal(calls(), 2);
    assert.deepEqual(
      recorded.retries.map((r) => [(r.error as Error).message, r.attempt, r.delayMs]),
      [['failure 1', 1, 250]],
    );
    assert.ok(recorded.heartbeats >= 1, 'heartbeats while waiting');
  });

  it('when keepGoing is false at the first failure, then it throws GaveUp with the failure as cause, without retrying', async () => {
    const { control: c, recorded } = control(() => false);
    const { work, calls } = flaky(5);

    await assert.rejects(retryUntilDone(work, c), (error: unknown) => {
      assert.ok(error instanceof GaveUp);
      assert.equal((error.cause as Error).message, 'failure 1');
      return true;
    });
    assert.equal(calls(), 1);
    assert.deepEqual(recorded.retries, []);
  });

  it('when keepGoing turns false while waiting to retry, then it throws GaveUp without another attempt', async () => {
    let asked = 0;
    // True when the failure is caught, false from the first check during the wait on.
    const { control: c, recorded } = control(() => ++asked === 1);
    const { work, calls } = flaky(5);

    await assert.rejects(retryUntilDone(work, c), GaveUp);
    assert.equal(calls(), 1);
    assert.equal(recorded.retries.length, 1);
  });

  it('when a heartbeat fails, then retrying goes on regardless', async () => {
    const { control: c } = control(() => true);
    c.heartbeat = () => Promise.reject(new Error('not in the group'));
    const { work } = flaky(1);
    assert.equal(await retryUntilDone(work, c), 'done');
  });
});
