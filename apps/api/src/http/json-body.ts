// Serialized JSON answers and how they are sent: once per refresh the bytes, their entity tag
// and (lazily) their gzip copy; per request only the conditional check and the write.
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
