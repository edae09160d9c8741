import assert from 'node:assert/strict';
import {
  RateLimiter,
  WorkQueue,
  type RateLimits,
  type Timers,
} from '../../../src/runtime/workqueue.ts';

/** A clock that only moves when the test says so. */
class ManualTimers implements Timers {
  time = 0;
  #next = 0;
  readonly #pending = new Map<number, { due: number; fn: () => void }>();
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#next;
    this.#pending.set(id, { due: this.time + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#pending.delete(handle as number);
  }
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = [...this.#pending.entries()]
        .filter(([, t]) => t.due <= until)
        .sort((a, b) => a[1].due - b[1].due)[0];
      if (!due) break;
      this.#pending.delete(due[0]);
      this.time = due[1].due;
      due[1].fn();
    }
    this.time = until;
  }
}

const LIMITS: RateLimits = { baseDelayMs: 10, maxDelayMs: 1000, perSecond: 1000, burst: 1000 };

/** The keys the queue hands out right now, each marked done. */
async function drain(queue: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (queue.length > 0) {
    const key = await queue.get();
    if (key === undefined) break;
    keys.push(key);
    queue.done(key);
  }
  return keys;
}

describe('operator work queue', () => {
  let timers: ManualTimers;
  let queue: WorkQueue;
  beforeEach(() => {
    timers = new ManualTimers();
    queue = new WorkQueue(LIMITS, timers);
  });

  it('when a key is added twice before it is taken, then it is handed out once', async () => {
    queue.add('ns/a');
    queue.add('ns/b');
    queue.add('ns/a');
    assert.equal(queue.length, 2);
    assert.deepEqual(await drain(queue), ['ns/a', 'ns/b']);
  });

  it('when a key changes while a worker holds it, then it is not handed to a second worker but comes back after done', async () => {
    queue.add('ns/a');
    const held = await queue.get();
    assert.equal(held, 'ns/a');
    queue.add('ns/a');
    assert.equal(queue.length, 0, 'not handed out while processed');
    queue.done('ns/a');
    assert.equal(queue.length, 1);
    assert.equal(await queue.get(), 'ns/a');
  });

  it('when a worker waits on an empty queue, then the next add reaches it', async () => {
    const waiting = queue.get();
    queue.add('ns/a');
    assert.equal(await waiting, 'ns/a');
  });

  it('when a key keeps failing, then its delay doubles up to the maximum and a success resets it', async () => {
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      queue.addRateLimited('ns/a');
      let waited = 0;
      while (queue.length === 0 && waited < 5000) {
        timers.advance(1);
        waited += 1;
      }
      delays.push(waited);
      assert.deepEqual(await drain(queue), ['ns/a']);
    }
    assert.deepEqual(delays, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    assert.equal(queue.failures('ns/a'), 9);
    queue.forget('ns/a');
    assert.equal(queue.failures('ns/a'), 0);
  });

  it('when a key is added after a delay twice, then the earlier time wins', async () => {
    queue.addAfter('ns/a', 500);
    queue.addAfter('ns/a', 100);
    queue.addAfter('ns/a', 300);
    timers.advance(99);
    assert.equal(queue.length, 0);
    timers.advance(1);
    assert.deepEqual(await drain(queue), ['ns/a']);
    timers.advance(1000);
    assert.equal(queue.length, 0, 'the later adds were dropped');
  });

  it('when the queue shuts down, then waiting workers get undefined and nothing more is queued', async () => {
    const waiting = queue.get();
    queue.addAfter('ns/b', 10);
    queue.shutDown();
    assert.equal(await waiting, undefined);
    queue.add('ns/a');
    timers.advance(100);
    assert.equal(queue.length, 0);
    assert.equal(await queue.get(), undefined);
  });
});

describe('operator rate limiter', () => {
  it('when many keys fail at once, then the overall bucket spaces them out after the burst', () => {
    const timers = new ManualTimers();
    const limiter = new RateLimiter(
      { baseDelayMs: 1, maxDelayMs: 1000, perSecond: 10, burst: 3 },
      timers,
    );
    const delays = ['a', 'b', 'c', 'd', 'e'].map((key) => limiter.when(key));
    assert.deepEqual(delays, [1, 1, 1, 100, 200]);
    timers.advance(1000);
    assert.equal(limiter.when('f'), 1, 'tokens refill with time');
  });
});
