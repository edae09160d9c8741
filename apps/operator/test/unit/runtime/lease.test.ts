import assert from 'node:assert/strict';
import { leaseAction, type LeaseRecord } from '../../../src/runtime/lease.ts';

const held = (holderIdentity: string, renewTime = '2025-01-01T00:00:00.000000Z'): LeaseRecord => ({
  holderIdentity,
  leaseDurationSeconds: 15,
  renewTime,
  acquireTime: '2025-01-01T00:00:00.000000Z',
  leaseTransitions: 0,
});

describe('operator leader election', () => {
  it('when we hold the lease, then we renew it', () => {
    assert.equal(leaseAction(held('me'), { identity: 'me', nowMs: 0 }), 'renew');
  });

  it('when the lease was released (empty holder), then we take it at once', () => {
    assert.equal(leaseAction(held(''), { identity: 'me', nowMs: 0 }), 'acquire');
  });

  it('when another holder keeps renewing, then we wait however long it holds', () => {
    let observed = { record: held('other', 'r1'), atMs: 0 };
    assert.equal(
      leaseAction(held('other', 'r1'), { identity: 'me', observed, nowMs: 10_000 }),
      'wait',
    );
    // A renewal is a new record: the lease runs from when we saw it.
    assert.equal(
      leaseAction(held('other', 'r2'), { identity: 'me', observed, nowMs: 20_000 }),
      'wait',
    );
    observed = { record: held('other', 'r2'), atMs: 20_000 };
    assert.equal(
      leaseAction(held('other', 'r2'), { identity: 'me', observed, nowMs: 34_999 }),
      'wait',
    );
  });

  it('when the holder stops renewing for the lease duration, then we take over', () => {
    const observed = { record: held('other', 'r1'), atMs: 1_000 };
    assert.equal(
      leaseAction(held('other', 'r1'), { identity: 'me', observed, nowMs: 15_999 }),
      'wait',
    );
    assert.equal(
      leaseAction(held('other', 'r1'), { identity: 'me', observed, nowMs: 16_000 }),
      'acquire',
    );
  });

  it('when we see a lease for the first time, then its age is judged by our clock, not its renewTime', () => {
    // renewTime is years old by our clock, but clocks may differ: wait a full duration first.
    assert.equal(
      leaseAction(held('other', '2001-01-01T00:00:00Z'), { identity: 'me', nowMs: 5_000 }),
      'wait',
    );
  });
});
