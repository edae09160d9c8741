import { jsonBody, type JsonBody } from './json-body.ts';
import { shared } from './query-scope.ts';

/**
 * A short-lived cache of serialized JSON responses with single-flight: while a key is being
 * computed, every other request for it waits for the same result. Dashboards poll the same few
 * views from many screens; with a TTL of a second the database answers each view about once a
 * second however many screens ask, and the answer is at most that much older than the data
 * (the live stream is there for anything fresher).
 *
 * With `staleMs`, an answer that expired less than that long ago is still served while one
 * request refreshes it in the background: no request waits for the database once a view is
 * warm, which is what keeps the slowest answers of a busy view fast. Answers are then at most
 * ttlMs + staleMs (plus the query's time) old.
 *
 * An answer is kept as the bytes sent and their entity tag, made once per refresh: a hit costs
 * no serialization, no string-to-bytes copy and no hashing of the body (express copies every
 * string body it sends to bytes and hashes them for an ETag: for a 30-day hourly series of
 * 88 kB that was about 40 % of the API's CPU time per cached request). Likewise its gzip copy,
 * made once per refresh on the first request that takes gzip (not at refresh: clients that do
 * not take it, and answers nobody asks for again, then cost nothing); a refresh to the same
 * bytes keeps the answer, copy and all.
 */
export interface ResponseCache {
  /**
   * The cached answer of `key`, or `compute`'s result serialized and kept for the TTL (or
   * `ttlMs`, for views whose answer changes more slowly; never shorter than the cache's TTL).
   */
  json(key: string, compute: () => Promise<unknown>, ttlMs?: number): Promise<JsonBody>;
  /** Drops every entry whose key starts with `prefix` (this process changed what they show). */
  forget(prefix: string): void;
}

export interface ResponseCacheOptions {
  /** 0 turns caching off. */
  ttlMs: number;
  /** How long past its TTL an answer is served while it is refreshed; default 0. */
  staleMs?: number;
  /** Oldest entries are dropped beyond this. */
  maxEntries?: number;
  /** Answers may be sent gzipped (see JsonBody.gzipped); default false. */
  gzip?: boolean;
  now?: () => number;
}

interface Entry {
  expires: number;
  body: Promise<JsonBody>;
  /** The body resolved (a pending or failed one is never served stale). */
  value: JsonBody | undefined;
  refreshing: boolean;
}

export function createResponseCache({
  ttlMs,
  staleMs = 0,
  maxEntries = 1000,
  gzip = false,
  now = Date.now,
}: ResponseCacheOptions): ResponseCache {
  const entries = new Map<string, Entry>();
  const answer = async (compute: () => Promise<unknown>) => jsonBody(await compute(), { gzip });
  // Uncached, a view is its request's own: its queries end with the request (query-scope.ts).
  if (ttlMs === 0) return { json: (_key, compute) => answer(compute), forget: () => undefined };
  // Cached, it is computed for every request waiting on it and for later ones: the first
  // request leaving must not cancel its queries.
  const serialize = (compute: () => Promise<unknown>) => answer(() => shared(compute));

  /** Keeps `body` under `key` until `startedAt` + `keepMs` (an answer ages from its query). */
  const store = (key: string, body: Promise<JsonBody>, startedAt: number, keepMs: number) => {
    const entry: Entry = { expires: startedAt + keepMs, body, value: undefined, refreshing: false };
    body.then(
      (value) => {
        entry.value = value;
      },
      // A failure is not kept: the next request tries again.
      () => {
        if (entries.get(key) === entry) entries.delete(key);
      },
    );
    entries.set(key, entry);
    for (const oldest of entries.keys()) {
      if (entries.size <= maxEntries) break;
      entries.delete(oldest);
    }
    return entry;
  };

  /** One background query; the stale entry keeps being served until its answer is in. */
  const refresh = (
    key: string,
    stale: Entry,
    compute: () => Promise<unknown>,
    at: number,
    keepMs: number,
  ) => {
    stale.refreshing = true;
    serialize(compute).then(
      (body) => {
        if (entries.get(key) !== stale) return;
        // The same bytes: keep the answer served so far, with the gzip copy it may have made.
        const kept = stale.value?.etag === body.etag ? stale.value : body;
        store(key, Promise.resolve(kept), at, keepMs);
      },
      () => {
        stale.refreshing = false;
      },
    );
  };

  return {
    json(key, compute, keyTtlMs) {
      const keepMs = Math.max(ttlMs, keyTtlMs ?? 0);
      const at = now();
      const hit = entries.get(key);
      if (hit && hit.expires > at) return hit.body;
      if (hit?.value && hit.expires + staleMs > at) {
        if (!hit.refreshing) refresh(key, hit, compute, at, keepMs);
        return hit.body;
      }
      return store(key, serialize(compute), at, keepMs).body;
    },
    forget(prefix) {
      for (const key of entries.keys()) if (key.startsWith(prefix)) entries.delete(key);
    },
  };
}
