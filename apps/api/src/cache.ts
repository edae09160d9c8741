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
 */
export interface ResponseCache {
  /** The cached body of `key`, or `compute`'s result serialized and kept for the TTL. */
  json(key: string, compute: () => Promise<unknown>): Promise<string>;
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
  now?: () => number;
}

interface Entry {
  expires: number;
  body: Promise<string>;
  /** The body resolved (a pending or failed one is never served stale). */
  ready: boolean;
  refreshing: boolean;
}

export function createResponseCache({
  ttlMs,
  staleMs = 0,
  maxEntries = 1000,
  now = Date.now,
}: ResponseCacheOptions): ResponseCache {
  const entries = new Map<string, Entry>();
  const serialize = async (compute: () => Promise<unknown>) => JSON.stringify(await compute());
  if (ttlMs === 0) return { json: (_key, compute) => serialize(compute), forget: () => undefined };

  /** Keeps `body` under `key` until `startedAt` + TTL (an answer ages from its query). */
  const store = (key: string, body: Promise<string>, startedAt: number): Entry => {
    const entry: Entry = { expires: startedAt + ttlMs, body, ready: false, refreshing: false };
    body.then(
      () => {
        entry.ready = true;
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
  const refresh = (key: string, stale: Entry, compute: () => Promise<unknown>, at: number) => {
    stale.refreshing = true;
    serialize(compute).then(
      (body) => {
        if (entries.get(key) === stale) store(key, Promise.resolve(body), at);
      },
      () => {
        stale.refreshing = false;
      },
    );
  };

  return {
    json(key, compute) {
      const at = now();
      const hit = entries.get(key);
      if (hit && hit.expires > at) return hit.body;
      if (hit?.ready && hit.expires + staleMs > at) {
        if (!hit.refreshing) refresh(key, hit, compute, at);
        return hit.body;
      }
      return store(key, serialize(compute), at).body;
    },
    forget(prefix) {
      for (const key of entries.keys()) if (key.startsWith(prefix)) entries.delete(key);
    },
  };
}
