// The Lease lock's requests end by their deadline: the API client here is a stand-in that never
// answers, and settles only when the request's own abort signal (set by the middleware the lock
// passes, as the real client's fetch would use it) fires.
import assert from 'node:assert/strict';
import {
  HttpMethod,
  RequestContext,
  type ConfigurationOptions,
  type CoordinationV1Api,
} from '@kubernetes/client-node';
import { LeaseLock, LeaseRequestAborted } from '../../../src/runtime/lease.ts';

/** A Lease API whose every call hangs until the signal the middleware sets on it aborts. */
function silentApi(calls: string[]): CoordinationV1Api {
  const hang = (name: string) => async (_param: unknown, options?: ConfigurationOptions) => {
    calls.push(name);
    let request = new RequestContext('https://127.0.0.1/', HttpMethod.GET);
    for (const middleware of options?.middleware ?? []) {
      request = await middleware.pre(request).toPromise();
    }
    const signal = request.getSignal();
    assert.ok(signal, 'every Lease request carries an abort signal');
    // As fetch: an already aborted signal fails at once.
    return new Promise<never>((_resolve, reject) => {
      if (signal.aborted) reject(signal.reason as Error);
      signal.addEventListener('abort', () => {
        reject(signal.reason as Error);
      });
    });
  };
  return {
    readNamespacedLease: hang('read'),
    createNamespacedLease: hang('create'),
    replaceNamespacedLease: hang('replace'),
  } as unknown as CoordinationV1Api;
}

function lock(api: CoordinationV1Api, requestTimeoutMs: number): LeaseLock {
  return new LeaseLock({
    api,
    namespace: 'default',
    name: 'operator',
    identity: 'me',
    leaseDurationSeconds: 15,
    requestTimeoutMs,
  });
}

describe('operator Lease requests', () => {
  it('when the API server never answers, then the request ends at its own deadline, as LeaseRequestAborted', async () => {
    const calls: string[] = [];
    const error = await lock(silentApi(calls), 20)
      .tryAcquireOrRenew()
      .then(
        () => assert.fail('a request that got no answer succeeded'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof LeaseRequestAborted);
    assert.equal(error.call, 'read');
    assert.equal(error.by, 'deadline');
    assert.match(error.message, /Lease read aborted: no answer within its 20 ms deadline/);
    assert.deepEqual(calls, ['read']);
  });

  it("when the caller gives up first (the leader's renew deadline), then the request ends at once, by its signal", async () => {
    const calls: string[] = [];
    const caller = new AbortController();
    caller.abort();
    // A deadline the test would never reach: only the caller's signal can end the request.
    const error = await lock(silentApi(calls), 3_600_000)
      .tryAcquireOrRenew(caller.signal)
      .then(
        () => assert.fail('an aborted request succeeded'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof LeaseRequestAborted);
    assert.equal(error.by, 'signal');
    assert.deepEqual(calls, ['read']);
  });
});
