import { Type } from '@sinclair/typebox';
import { isShuttingDown, type Sql } from '@telemetrypulse/shared';
import { credentialFrom } from '../http/auth.ts';
import { ProblemError, unavailable } from '../http/problem.ts';
import type { ApiRouter } from '../http/route.ts';
import type { LiveEvent, LiveHub } from '../live/hub.ts';
import { formatCursor, parseCursor, type Cursor } from '../live/position.ts';
import { SseStream } from '../live/sse-stream.ts';
import { selectMissed } from '../queries/live.ts';
import { SiteId } from '../schemas.ts';

export interface LiveRoutesOptions {
  sql: Sql;
  hub: LiveHub | undefined;
  heartbeatMs: number;
  maxClients: number;
  /** How far back a reconnecting client is sent what it missed. */
  replayMs: number;
  now: () => number;
}

/** A replay is bounded: beyond these it says `complete: false` and the client reloads. */
const MAX_REPLAYED_ALERTS = 1000;
const MAX_REPLAYED_WINDOWS = 5000;
/** Transactions start before they commit: alert rows carry their start time as updated_at. */
const TRANSACTION_SLACK_MS = 5 * 60_000;

/** One SSE message; `id` (the resume cursor) alone, without data, updates the client's cursor. */
function message(event: string | undefined, data: unknown, id: string | undefined): string {
  let text = id === undefined ? '' : `id: ${id}\n`;
  if (event !== undefined) text += `event: ${event}\ndata: ${JSON.stringify(data)}\n`;
  return `${text}\n`;
}

/**
 * The hub hands the same change to every stream in one loop: it is serialized once for all of
 * them (with hundreds of streams, per-stream JSON.stringify was most of the work).
 */
function sharedMessages(): (event: LiveEvent, data: unknown, id: string | undefined) => string {
  let last: { data: unknown; id: string | undefined; text: string } | undefined;
  return (event, data, id) => {
    if (last === undefined || last.data !== data || last.id !== id)
      last = { data, id, text: message(event, data, id) };
    return last.text;
  };
}

/** Replay passes while live changes keep outgrowing what a stream may hold meanwhile. */
const MAX_REPLAY_PASSES = 3;

interface Replayed {
  alerts: number;
  windows: number;
  complete: boolean;
  /** The snapshot the replay was read in: what was written from it on is not in it. */
  next: Cursor;
}

/**
 * Sends what a client missed since `cursor`: alerts and windows written at or after it (grouped
 * per site as live `aggregates` events). `complete` is false when the cursor is older than the
 * replay period or a limit cut the replay short: the client should reload what it shows.
 */
async function replayPass(
  stream: SseStream,
  sql: Sql,
  {
    cursor,
    siteId,
    replayMs,
    now,
  }: {
    cursor: Cursor;
    siteId: string | undefined;
    replayMs: number;
    now: number;
  },
): Promise<Replayed> {
  const oldest = now - replayMs;
  const missed = await selectMissed(sql, {
    siteId,
    xid: cursor.xid,
    alertsSince: new Date(Math.max(cursor.at, oldest) - TRANSACTION_SLACK_MS),
    windowsSince: new Date(oldest),
    maxAlerts: MAX_REPLAYED_ALERTS,
    maxWindows: MAX_REPLAYED_WINDOWS,
  });
  for (const alert of missed.alerts) await stream.write(message('alert', alert, undefined));
  const sites = new Map<string, typeof missed.windows>();
  for (const w of missed.windows) sites.set(w.site_id, [...(sites.get(w.site_id) ?? []), w]);
  for (const [site, windows] of sites) {
    await stream.write(message('aggregates', { site_id: site, windows }, undefined));
  }
  return {
    alerts: missed.alerts.length,
    windows: missed.windows.length,
    complete: missed.complete && cursor.at >= oldest,
    next: { xid: missed.xmin, at: now },
  };
}

/**
 * Replays what a client missed since `cursor`, then sends `resumed`, whose id is the snapshot
 * the last pass was read in. While it is sent, live changes are held; when they outgrow the
 * stream's bound they are dropped and another pass reads them from the database instead.
 * `complete` is false when the cursor is missing, not one this API made, or too old, when a
 * limit cut a pass short, or when changes were still dropped after the last pass.
 */
async function replay(
  stream: SseStream,
  sql: Sql,
  options: {
    cursor: Cursor | undefined;
    siteId: string | undefined;
    replayMs: number;
    now: () => number;
  },
): Promise<void> {
  let cursor = options.cursor;
  if (!cursor) {
    await stream.write(message('resumed', { alerts: 0, windows: 0, complete: false }, undefined));
    return;
  }
  const summary = { alerts: 0, windows: 0, complete: true };
  let behind = true;
  for (let pass = 1; behind && pass <= MAX_REPLAY_PASSES; pass++) {
    const replayed = await replayPass(stream, sql, { ...options, cursor, now: options.now() });
    summary.alerts += replayed.alerts;
    summary.windows += replayed.windows;
    summary.complete &&= replayed.complete;
    cursor = replayed.next;
    behind = stream.restartIfBehind();
  }
  if (behind) summary.complete = false;
  await stream.write(message('resumed', summary, formatCursor(cursor)));
}

export function liveRoutes(api: ApiRouter, options: LiveRoutesOptions): void {
  const { sql, hub, heartbeatMs, maxClients } = options;
  const format = sharedMessages();
  api.route(
    {
      method: 'get',
      path: '/api/v1/live',
      operationId: 'live',
      summary: 'Server-Sent Events: alert changes and new 5-minute aggregates',
      description:
        'Events: `alert` (an Alert, when one opens or its status, acknowledgement or comment ' +
        'changes) and `aggregates` ({site_id, windows: [...]}, the 5-minute windows that ' +
        'changed, coalesced per site). A comment line is sent as heartbeat. Filter with ' +
        'site_id. Messages carry an id; a client that reconnects with it (the Last-Event-ID ' +
        'header, as EventSource does, or last_event_id) is first sent what it missed, read ' +
        'from the database: the current state of alerts changed since and of 5-minute ' +
        `windows changed since that start at most ${Math.round(options.replayMs / 60_000)} ` +
        'minutes ago, then a `resumed` event ({alerts, windows, complete}); complete is ' +
        'false when the id is older than that, unknown, or the replay hit its limit ' +
        `(${MAX_REPLAYED_ALERTS} alerts, ${MAX_REPLAYED_WINDOWS} windows): reload then. ` +
        'Events already seen may come again; they carry whole rows, so the latest wins. A ' +
        'client that does not read what it is sent has its stream ended (resume with the id); ' +
        'one client (API key, else IP) may hold a limited number of streams: 429 beyond it.',
      tags: ['live'],
      access: 'read',
      query: Type.Object({
        site_id: Type.Optional(SiteId),
        last_event_id: Type.Optional(
          Type.String({
            maxLength: 64,
            description: 'resume after this event id (for clients that cannot set the header)',
          }),
        ),
      }),
      responses: {
        200: { description: 'an event stream that stays open', contentType: 'text/event-stream' },
        429: { description: 'this client holds as many streams as it may; retry later' },
        503: { description: 'the live stream is unavailable or full; retry later' },
      },
    },
    async (input, req, res) => {
      if (!hub) throw unavailable('the live stream is not enabled');
      // A draining pod opens no stream it would end a moment later: the client retries and
      // reaches another pod.
      if (isShuttingDown()) {
        res.setHeader('Retry-After', '1');
        throw unavailable('this API instance is shutting down; retry');
      }
      const admission = hub.limits.admit(
        { ip: req.ip ?? req.socket.remoteAddress ?? '', credential: credentialFrom(req.headers) },
        hub.clients(),
        maxClients,
      );
      if (!admission.admitted) {
        res.setHeader('Retry-After', String(admission.retryAfterSeconds));
        throw new ProblemError(admission.problem);
      }
      const header = req.headers['last-event-id'];
      const resumeFrom = input.query.last_event_id ?? (typeof header === 'string' ? header : '');
      const resuming = resumeFrom !== '';

      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // ingress-nginx would buffer the stream otherwise.
        'x-accel-buffering': 'no',
      });
      // Reconnect after 5 s; the first line also flushes the headers to the client.
      res.write('retry: 5000\n: connected\n\n');

      // A client that stopped reading: its connection is reset, which frees what it held here
      // and in the kernel (a plain close would keep trying to deliver it); it reconnects with
      // its last id and is sent what it missed from the database.
      const stream = new SseStream(res, hub.limits.maxUnsentBytes, () => {
        hub.limits.dropped('slow_client');
        req.log.warn({ unsent_bytes: stream.unsent() }, 'live: client not reading; stream ended');
        req.socket.resetAndDestroy();
      });
      // Live changes that arrive while the replay is read wait for it, so that no cursor is
      // sent ahead of what the client has.
      if (resuming) stream.hold();
      const heartbeat = setInterval(() => {
        if (!stream.holding())
          stream.send(`: heartbeat\n${message(undefined, undefined, hub.position())}`);
      }, heartbeatMs);
      const unsubscribe = hub.subscribe({
        siteId: input.query.site_id,
        send: (event: LiveEvent, data, id) => {
          stream.send(format(event, data, id));
        },
        end: (reason) => {
          hub.limits.dropped(reason);
          res.end();
        },
      });
      const cleanup = () => {
        clearInterval(heartbeat);
        unsubscribe();
        admission.release();
      };
      res.once('close', cleanup);
      // A client gone before this ran closes nothing any more: its place is given back now.
      if (req.socket.destroyed) cleanup();

      if (!resuming) {
        // A cursor from the start, so a client that loses the stream before any event resumes.
        const position = hub.position();
        if (position !== undefined) stream.send(message(undefined, undefined, position));
        return;
      }
      try {
        await replay(stream, sql, {
          cursor: parseCursor(resumeFrom),
          siteId: input.query.site_id,
          replayMs: options.replayMs,
          now: options.now,
        });
      } catch (error) {
        req.log.warn({ err: error }, 'live: replay failed; the client will retry');
        res.end();
        return;
      }
      stream.release();
    },
  );
}
