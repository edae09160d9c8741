/**
 * A short-lived cache of serialized JSON responses with single-flight: while a key is being
 * computed, every other request for it waits for the same result. Dashboards poll the same few
 * views from many screens; with a TTL of a second the database answers each view about once a
 * second however many screens ask, and the answer is at most that much older than the data
 * (the live stream is there for anything fresher).
 */
export interface ResponseCache {
  /** The cached body of `key`, or `compute`'s result serialized and kept for the TTL. */
  json(key: string, compute: () => Promise<unknown>): Promise<string>;
}

export interface ResponseCacheOptions {
  /** 0 turns caching off. */
  ttlMs: number;
  /** Oldest entries are dropped beyond this. */
  maxEntries?: number;
  now?: () => number;
}

export function createResponseCache({
  ttlMs,
  maxEntries = 1000,
  now = Date.now,
}: ResponseCacheOptions): ResponseCache {
  const entries = new Map<string, { expires: number; body: Promise<string> }>();
  const serialize = async (compute: () => Promise<unknown>) => JSON.stringify(await compute());
  if (ttlMs === 0) return { json: (_key, compute) => serialize(compute) };
  return {
    json(key, compute) {
      const at = now();
      const hit = entries.get(key);
      if (hit && hit.expires > at) return hit.body;
      entries.delete(key);
      const body = serialize(compute);
      entries.set(key, { expires: at + ttlMs, body });
      // A failure is not kept: the next request tries again.
      body.catch(() => {
        if (entries.get(key)?.body === body) entries.delete(key);
      });
      for (const oldest of entries.keys()) {
        if (entries.size <= maxEntries) break;
        entries.delete(oldest);
      }
      return body;
    },
  };
}
