import assert from 'node:assert/strict';
import { DAY_MS } from '@telemetrypulse/shared';
import { eventsDue, msUntilDue, startPace, type Pace } from '../../src/pacing.ts';

/** Drives a pace over simulated time, releasing everything due at each step. */
function drive(pace: Pace, steps: Iterable<number>): { pace: Pace; sent: number } {
  let sent = 0;
  for (const nowMs of steps) {
    const due = eventsDue(pace, sent, nowMs);
    pace = due.pace;
    sent += due.count;
  }
  return { pace, sent };
}

function* every(stepMs: number, untilMs: number, fromMs = 0): Generator<number> {
  for (let t = fromMs; t <= untilMs; t += stepMs) yield t;
}

describe('pacing', () => {
  for (const rate of [1, 5, 333, 50_000]) {
    it(`when ${rate} events/s run for 60 s in 1 ms steps, then exactly ${rate * 60} are due`, () => {
      assert.equal(drive(startPace(rate, 0), every(1, 60_000)).sent, rate * 60);
    });
  }

  it('when steps are irregular, then the running total is always rate × elapsed, rounded down', () => {
    const pace = startPace(750, 1000);
    let sent = 0;
    let now = 1000;
    // A fixed irregular pattern of gaps, 0 to 36 ms, like a busy event loop.
    for (let i = 0; i < 20_000; i++) {
      now += (i * 7919) % 37;
      const due = eventsDue(pace, sent, now);
      assert.equal(due.pace, pace, 'no event was skipped');
      sent += due.count;
      assert.equal(sent, Math.floor(((now - 1000) * 750) / 1000));
    }
  });

  it('when the rate is fractional, then it is held exactly too', () => {
    assert.equal(drive(startPace(0.5, 0), every(100, 60_000)).sent, 30);
    assert.equal(drive(startPace(2.5, 0), every(8, 60_000)).sent, 150);
  });

  it('when nothing is due yet, then the sleep ends exactly when the next event is due', () => {
    for (const rate of [1, 3, 50_000]) {
      const pace = startPace(rate, 500);
      let sent = 0;
      let now = 500;
      for (let i = 0; i < 50; i++) {
        const wait = msUntilDue(pace, sent, now);
        assert.ok(wait > 0, `rate ${rate}: something is due early`);
        assert.equal(eventsDue(pace, sent, now + wait - 1).count, 0, `rate ${rate}: woke early`);
        now += wait;
        const due = eventsDue(pace, sent, now);
        assert.ok(due.count >= 1, `rate ${rate}: nothing due after the sleep`);
        sent += due.count;
      }
    }
  });

  it('when an event is already due, then there is no sleep', () => {
    const pace = startPace(10, 0);
    assert.equal(msUntilDue(pace, 0, 100), 0);
    assert.equal(msUntilDue(pace, 0, 250), 0);
    assert.equal(msUntilDue(pace, 1, 150), 50);
  });

  describe('when the sender stalls for 10 s', () => {
    it('then the next call releases at most one second worth', () => {
      const stalled = eventsDue(startPace(100, 0), 0, 10_000);
      assert.equal(stalled.count, 100);
      assert.equal(stalled.pace.skipped, 900);
    });

    it('then the rate resumes afterwards without a second burst', () => {
      const { pace, sent } = drive(startPace(100, 0), [10_000]);
      assert.equal(eventsDue(pace, sent, 10_000).count, 0);
      assert.equal(eventsDue(pace, sent, 10_009).count, 0);
      assert.equal(eventsDue(pace, sent, 10_010).count, 1);
      assert.equal(drive(pace, every(1, 20_000, 10_001)).sent, 100 + 1000);
    });

    it('then even at 1 event/s only one event is released', () => {
      assert.equal(eventsDue(startPace(1, 0), 0, 10_000).count, 1);
    });

    it('then at 50,000 events/s the burst is 50,000', () => {
      assert.equal(eventsDue(startPace(50_000, 0), 0, 10_000).count, 50_000);
    });
  });

  it('when a simulator runs for months at 50,000 events/s, then the count stays exact', () => {
    // 90 days × 50,000 events/s is 3.9e11 events, and the product elapsed × rate passes 2^53.
    const pace = startPace(50_000, 0);
    const at = 90 * DAY_MS + 1;
    const total = 90 * 86_400 * 50_000 + 50;
    assert.equal(eventsDue(pace, total - 7, at).count, 7);
    assert.equal(msUntilDue(pace, total, at), 1);
  });

  it('when time has not moved past the start, then nothing is due', () => {
    const pace = startPace(1000, 5000);
    assert.equal(eventsDue(pace, 0, 5000).count, 0);
    assert.equal(eventsDue(pace, 0, 4000).count, 0);
  });

  it('when the rate is zero, negative or not a number, then the pace is refused', () => {
    assert.throws(() => startPace(0, 0), RangeError);
    assert.throws(() => startPace(-5, 0), RangeError);
    assert.throws(() => startPace(Number.NaN, 0), RangeError);
  });
});
