import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { Response } from 'express';
import {
  acceptsGzip,
  COMPRESSION_THRESHOLD_BYTES,
  lazyGzip,
  leaveEncoding,
} from './compression.ts';
import type { ResponseSpec } from './route.ts';

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

/** A serialized JSON answer. */
export interface JsonBody {
  body: Buffer;
  /** Weak entity tag of `body`, as express would make it: equal bodies have equal tags. */
  etag: string;
  /**
   * `body` gzipped, made on the first call and kept with the answer; absent when answers are
   * sent uncompressed.
   */
  gzipped?: () => Promise<Buffer>;
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

/**
 * JSON text of `value` as bytes, with the tag express's default `etag fn` gives those bytes, and
 * with `gzip` a way to their gzip copy.
 */
export function jsonBody(value: unknown, { gzip = false } = {}): JsonBody {
  const body = Buffer.from(JSON.stringify(value));
  const hash = createHash('sha1').update(body).digest('base64').slice(0, 27);
  const etag = `W/"${body.length.toString(16)}-${hash}"`;
  return gzip ? { body, etag, gzipped: lazyGzip(body) } : { body, etag };
}

/**
 * Whether an If-None-Match header names `etag` (weak comparison, as RFC 9110 has it for this
 * header; `*` matches any answer).
 */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag);
  const wanted = opaque(etag);
  return ifNoneMatch.split(',').some((tag) => opaque(tag.trim()) === wanted);
}

/**
 * Sends a serialized answer with its precomputed tag; a request whose If-None-Match holds that
 * tag gets 304 without a body. Decided here, not by express: express answers 200 whenever the
 * request says `Cache-Control: no-cache`, which fetch() adds to every request that carries
 * If-None-Match, so a dashboard revalidating by hand would never get its 304.
 *
 * A client that takes gzip gets the answer's gzip copy. Its tag stays the same: a weak tag
 * stands for the content, not the bytes, as with express behind the compression middleware
 * (RFC 9110 asks strong tags, not weak ones, to differ between content codings). So a tag from
 * either encoding gets its 304 in both, and caches keep the encodings apart by Vary.
 */
export async function sendJson(res: Response, { body, etag, gzipped }: JsonBody): Promise<void> {
  res.set('ETag', etag);
  if (gzipped) {
    // On the 304 too: it stands for the 200 a cache holds, which varied.
    res.vary('Accept-Encoding');
    leaveEncoding(res);
  }
  if (etagMatches(res.req.get('If-None-Match'), etag)) {
    res.status(304).end();
    return;
  }
  res.type('json');
  if (gzipped && body.length >= COMPRESSION_THRESHOLD_BYTES && acceptsGzip(res.req)) {
    res.set('Content-Encoding', 'gzip').send(await gzipped());
    return;
  }
  res.send(body);
}

/** The documented answers of a route that answers with sendJson, from its 200 answer. */
export function conditionalResponses(ok: ResponseSpec): Record<number, ResponseSpec> {
  return {
    200: {
      ...ok,
      headers: {
        ...ok.headers,
        ETag: {
          description:
            'tag of this answer: sent back in If-None-Match, it gets 304 while unchanged',
          schema: Type.String(),
        },
      },
    },
    304: { description: 'unchanged since the ETag sent in If-None-Match; no body' },
  };
}

export function createResponseCache({
  ttlMs,
  staleMs = 0,
  maxEntries = 1000,
  gzip = false,
  now = Date.now,
}: ResponseCacheOptions): ResponseCache {
  const entries = new Map<string, Entry>();
  const serialize = async (compute: () => Promise<unknown>) => jsonBody(await compute(), { gzip });
  if (ttlMs === 0) return { json: (_key, compute) => serialize(compute), forget: () => undefined };

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
