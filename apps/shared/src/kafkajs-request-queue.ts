// A fix for a bug of kafkajs 2.2.4 (its last release), applied at runtime to its RequestQueue.
//
// RequestQueue.scheduleCheckPendingRequests computes `this.throttledUntil - Date.now()`. Without
// client-side throttling throttledUntil is -1, so with nothing pending the delay is minus the
// epoch in ms (-1796…e12) and it is passed to setTimeout as is. Node 24 prints
// "TimeoutNegativeWarning: -1796… is a negative number. Timeout duration was set to 1." on stderr,
// outside the JSON logs, and the 1 ms timer calls checkPendingRequests, which schedules the next
// one: after a broker's first response every connection polls its empty queue every millisecond
// until it is closed.
//
// Upstream: https://github.com/tulios/kafkajs/issues/1751 (the warning) and
// https://github.com/tulios/kafkajs/issues/1704 (the loop); fixes proposed in
// https://github.com/tulios/kafkajs/pull/1755 and https://github.com/tulios/kafkajs/pull/1768,
// none released. kafkajs has no option that avoids the code path. The replacement below is the
// original method plus one branch, the one suggested in #1768's review: with nothing pending and
// no throttling there is nothing to check later, so no timer. A request that gets queued
// schedules its own check (push calls this method with a pending request), and a request that
// waits for an in-flight slot is sent when a response frees one (fulfillRequest), as before.
//
// Only kafkajs 2.2.4 is patched: another version may have changed the method (or fixed it), and
// the unit test fails then, so that whoever upgrades looks at this again.
import { createRequire } from 'node:module';

export const PATCHED_KAFKAJS_VERSION = '2.2.4';

/** kafkajs's CHECK_PENDING_REQUESTS_INTERVAL (not exported). */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

/** The fields and methods of kafkajs's RequestQueue that the replacement uses. */
export interface RequestQueueInternals {
  throttledUntil: number;
  pending: unknown[];
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

export type RequestQueueClass = (new (options: {
  maxInFlightRequests: number | null;
  requestTimeout: number;
  enforceRequestTimeout: boolean;
  clientId: string;
  broker: string;
  logger: Record<'debug' | 'info' | 'warn' | 'error', (...args: unknown[]) => void>;
}) => RequestQueueInternals & { destroy(): void }) & { prototype: RequestQueueInternals };

const require = createRequire(import.meta.url);

/** The RequestQueue class every kafkajs client of this process uses. */
export function kafkajsRequestQueue(): RequestQueueClass {
  return require('kafkajs/src/network/requestQueue/index.js') as RequestQueueClass;
}

/**
 * kafkajs 2.2.4's scheduleCheckPendingRequests, except that it schedules no check when nothing is
 * pending and the queue is not throttled (kafkajs would set a timer with a negative delay).
 */
function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  let scheduleAt = this.throttledUntil - Date.now();
  if (!this.throttleCheckTimeoutId) {
    if (this.pending.length > 0) {
      scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL_MS;
    } else if (scheduleAt <= 0) {
      return;
    }
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, scheduleAt);
  }
}

/**
 * Replaces RequestQueue.prototype.scheduleCheckPendingRequests of the installed kafkajs (for every
 * client of the process, also those already made; calling it again changes nothing). Returns
 * whether the fix is in place: false when kafkajs is not version 2.2.4.
 */
export function patchKafkajsRequestQueue(): boolean {
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== PATCHED_KAFKAJS_VERSION) return false;
  kafkajsRequestQueue().prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  return true;
}
