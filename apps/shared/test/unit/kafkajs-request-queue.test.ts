// The runtime fix of kafkajs 2.2.4's RequestQueue (kafkajs-request-queue.ts), on the real class
// of the installed kafkajs, without a broker: no timer and no TimeoutNegativeWarning when nothing
// is pending, and queued requests still go out once the throttle ends or a slot frees up.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import '../../src/kafka.ts';
import {
  kafkajsRequestQueue,
  patchKafkajsRequestQueue,
  PATCHED_KAFKAJS_VERSION,
  type RequestQueueInternals,
} from '../../src/kafkajs-request-queue.ts';

const noop = (): void => undefined;
const logger = { debug: noop, info: noop, warn: noop, error: noop };

type Queue = RequestQueueInternals & {
  destroy(): void;
  inflight: Map<number, unknown>;
  fulfillRequest(response: { correlationId: number; payload: Buffer | null; size: number }): void;
};

/** What the queue needs of a kafkajs SocketRequest to send it; records when it was sent. */
function fakeRequest(correlationId: number): {
  correlationId: number;
  expectResponse: boolean;
  sentAt?: number;
  send(): void;
  completed(): void;
} {
  return {
    correlationId,
    expectResponse: true,
    send() {
      this.sentAt = Date.now();
    },
    completed: noop,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('kafkajs RequestQueue fix (kafkajs issue #1751)', () => {
  const queues: Queue[] = [];
  const newQueue = (maxInFlightRequests: number | null = null): Queue => {
    const RequestQueue = kafkajsRequestQueue();
    const queue = new RequestQueue({
      maxInFlightRequests,
      requestTimeout: 30_000,
      enforceRequestTimeout: false,
      clientId: 'test',
      broker: 'localhost:9092',
      logger,
    }) as Queue;
    queues.push(queue);
    return queue;
  };
  afterEach(() => {
    for (const q of queues.splice(0)) q.destroy();
  });

  it('is in place for the installed kafkajs (an upgrade fails here: check whether the fix is still needed)', () => {
    const { version } = createRequire(import.meta.url)('kafkajs/package.json') as {
      version: string;
    };
    assert.equal(version, PATCHED_KAFKAJS_VERSION);
    assert.equal(patchKafkajsRequestQueue(), true);
  });

  it('when nothing is pending and nothing throttles, then a check schedules no timer (kafkajs: a negative delay, then a 1 ms loop)', async () => {
    const queue = newQueue();
    let checks = 0;
    const check = queue.checkPendingRequests.bind(queue);
    queue.checkPendingRequests = () => {
      checks++;
      check();
    };
    queue.checkPendingRequests();
    assert.equal(queue.throttleCheckTimeoutId, null);
    // A response also runs the check.
    queue.fulfillRequest({ correlationId: 1, payload: null, size: 0 });
    assert.equal(queue.throttleCheckTimeoutId, null);
    await sleep(30);
    assert.equal(checks, 2, 'no polling of the empty queue');
  });

  it('when a request is queued while throttled, then it is sent once the throttle ends, and no timer is left', async () => {
    const queue = newQueue();
    const request = fakeRequest(7);
    queue.throttledUntil = Date.now() + 40;
    queue.pending.push(request);
    queue.checkPendingRequests();
    assert.equal(request.sentAt, undefined, 'not sent while throttled');
    assert.notEqual(queue.throttleCheckTimeoutId, null, 'a check at the end of the throttle');
    await waitFor('the request sent', () => request.sentAt !== undefined);
    assert.ok(request.sentAt! >= queue.throttledUntil, 'not before the throttle ended');
    assert.equal(queue.pending.length, 0);
    assert.equal(queue.throttleCheckTimeoutId, null);
  });

  it('when nothing is pending but the queue is throttled, then a check is still scheduled for the end of the throttle (as kafkajs does)', () => {
    const queue = newQueue();
    queue.throttledUntil = Date.now() + 1000;
    queue.checkPendingRequests();
    assert.notEqual(queue.throttleCheckTimeoutId, null);
  });

  it('when a request waits for an in-flight slot, then it is sent once the in-flight response arrives', async () => {
    const queue = newQueue(1);
    queue.inflight.set(1, fakeRequest(1));
    const waiting = fakeRequest(2);
    queue.pending.push(waiting);
    queue.checkPendingRequests();
    await sleep(25);
    assert.equal(waiting.sentAt, undefined, 'no free slot yet');
    queue.fulfillRequest({ correlationId: 1, payload: null, size: 0 });
    assert.notEqual(waiting.sentAt, undefined);
    assert.equal(queue.pending.length, 0);
  });

  it('when a process loads the shared Kafka module and a queue handles a response, then its stderr stays empty', async () => {
    const src = (file: string) =>
      JSON.stringify(fileURLToPath(new URL(`../../src/${file}`, import.meta.url)));
    const script = [
      `import { kafkajsRequestQueue } from ${src('kafkajs-request-queue.ts')};`,
      `if (process.argv[1] === 'shared') await import(${src('kafka.ts')});`,
      'const noop = () => undefined;',
      'const logger = { debug: noop, info: noop, warn: noop, error: noop };',
      'const RequestQueue = kafkajsRequestQueue();',
      "const q = new RequestQueue({ maxInFlightRequests: null, requestTimeout: 30000, enforceRequestTimeout: false, clientId: 't', broker: 'b', logger });",
      'q.fulfillRequest({ correlationId: 1, payload: null, size: 0 });',
      'setTimeout(() => q.destroy(), 20);',
    ].join('\n');
    const run = (mode: string) =>
      promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, mode]);
    // Without the fix the child prints the warning: the check below would see it.
    assert.match((await run('kafkajs-only')).stderr, /TimeoutNegativeWarning/);
    assert.equal((await run('shared')).stderr, '');
  });
});
