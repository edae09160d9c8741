import { schemaDefault, type Logger, type Sql } from '@telemetrypulse/shared';
import { ApiConfigSchema } from '../config.ts';
import { selectAlert } from '../queries/alerts.ts';
import { selectWindows } from '../queries/live.ts';
import { StreamLimits, type DropReason, type StreamLimitOptions } from './limits.ts';
import { LivePosition, formatCursor } from './position.ts';

/** Alert and aggregate changes, and the hubs' own markers (postgres/migrations/0007). */
export const LIVE_CHANNEL = 'telemetry_live';

export type LiveEvent = 'alert' | 'aggregates';

/** One open stream: what it wants, and how to reach it. */
export interface LiveClient {
  /** Only this site's changes; all sites when undefined. */
  siteId: string | undefined;
  /** `id` is the resume cursor after this event (undefined while none is known). */
  send(event: LiveEvent, data: unknown, id: string | undefined): void;
  /** Ends the stream (shutdown, or the hub lost changes: the client resumes from its cursor). */
  end(reason: DropReason): void;
}

export interface LiveHub {
  /** Adds a client; the returned function removes it. */
  subscribe(client: LiveClient): () => void;
  clients(): number;
  /** Per-client caps and the unsent-data bound of the streams, and their counters. */
  limits: StreamLimits;
  /** The resume cursor of a stream that has been sent everything so far; undefined if unknown. */
  position(): string | undefined;
  /** Stops listening and ends every stream, so the server can close. */
  close(): Promise<void>;
}

export interface LiveHubOptions {
  sql: Sql;
  logger: Logger;
  /** Aggregate changes of one site arriving within this time are read and sent once. */
  coalesceMs?: number;
  /** How often the hub moves its cursor forward while nothing changes; default LIVE_HEARTBEAT_MS's. */
  markerMs?: number;
  /** Caps and bounds of the streams (LIVE_MAX_STREAMS_PER_CLIENT, LIVE_MAX_UNSENT_BYTES). */
  limits?: StreamLimitOptions;
  now?: () => number;
}

type AlertNotice = { kind: 'alert'; alert_id: number; site_id: string; xid: string; xmin: string };
type AggregatesNotice = {
  kind: 'aggregates';
  site_id: string;
  from: string;
  to: string;
  xid: string;
  xmin: string;
};
type Notice = AlertNotice | AggregatesNotice | { kind: 'marker'; xmin: string };

/**
 * Fans database changes out to live streams. One LISTEN connection per API process; each change
 * is read from the database once, whatever the number of clients, and aggregate changes of a
 * site are coalesced, since a busy processor upserts its windows many times a second. Tracks the
 * resume cursor of its streams (position.ts); when the LISTEN connection was lost,
 * notifications in between are gone, so every stream is ended and its client resumes from its
 * cursor, reading the gap from the database.
 */
export async function startLiveHub({
  sql,
  logger,
  coalesceMs = 500,
  markerMs = schemaDefault(ApiConfigSchema, 'LIVE_HEARTBEAT_MS'),
  limits = {},
  now = Date.now,
}: LiveHubOptions): Promise<LiveHub> {
  const streamLimits = new StreamLimits(limits);
  const position = new LivePosition();
  const cursor = () => {
    const current = position.current();
    return current && formatCursor(current);
  };
  const streams = fanOut(cursor);
  const reading: Reading = { sql, logger, now, position, streams };
  const aggregates = coalescedAggregates(reading, coalesceMs);
  const marker = () => {
    sendMarker(sql, logger);
  };

  const listener = await listenForChanges(sql, logger, {
    notice(notice) {
      // First hold what this change needs, then move the horizon past it.
      if (notice.kind === 'alert') readAlert(reading, notice);
      else if (notice.kind === 'aggregates') aggregates.add(notice);
      position.received(BigInt(notice.xmin), now());
    },
    interrupted() {
      logger.warn('live: notifications were interrupted; streams resume from their cursor');
      aggregates.drop();
      position.reset();
      streams.endAll('resync');
    },
    listening: marker,
  });
  const markers = setInterval(marker, markerMs);
  markers.unref();

  return {
    subscribe: streams.subscribe,
    clients: streams.size,
    limits: streamLimits,
    position: cursor,
    async close() {
      aggregates.close();
      clearInterval(markers);
      streams.endAll('shutdown');
      await listener.unlisten();
    },
  };
}

/** The open streams; a site's changes go to the streams of that site and to those of all sites. */
interface Streams {
  subscribe: (client: LiveClient) => () => void;
  size: () => number;
  /** Whether any stream wants this site's changes (if none does, they are not read at all). */
  wants(siteId: string): boolean;
  /** Sends a change to the streams that want it, with the cursor as it stands now. */
  send(siteId: string, event: LiveEvent, data: unknown): void;
  /** A change that cannot be sent: the streams that wanted it resume from the database. */
  lost(siteId: string): void;
  /** Ends every stream (shutdown, or notifications were interrupted). */
  endAll(reason: DropReason): void;
}

function fanOut(cursor: () => string | undefined): Streams {
  const clients = new Set<LiveClient>();
  const wanting = (client: LiveClient, siteId: string) =>
    client.siteId === undefined || client.siteId === siteId;
  return {
    subscribe(client) {
      clients.add(client);
      return () => clients.delete(client);
    },
    size: () => clients.size,
    wants: (siteId) => [...clients].some((c) => wanting(c, siteId)),
    send(siteId, event, data) {
      const id = cursor();
      for (const client of clients) {
        if (wanting(client, siteId)) client.send(event, data, id);
      }
    },
    lost(siteId) {
      for (const client of clients) {
        if (wanting(client, siteId)) {
          clients.delete(client);
          client.end('resync');
        }
      }
    },
    endAll(reason) {
      for (const client of clients) client.end(reason);
      clients.clear();
    },
  };
}

/** What reading a changed row takes: the database, the cursor to hold meanwhile, the streams. */
interface Reading {
  sql: Sql;
  logger: Logger;
  now: () => number;
  position: LivePosition;
  streams: Streams;
}

/** Reads a changed alert and sends it; the cursor stays at or below its writer until then. */
function readAlert({ sql, logger, now, position, streams }: Reading, notice: AlertNotice): void {
  const siteId = notice.site_id;
  if (!streams.wants(siteId)) return;
  const key = `alert:${notice.alert_id}:${notice.xid}`;
  position.hold(key, BigInt(notice.xid), now());
  selectAlert(sql, notice.alert_id)
    .then((alert) => {
      position.release(key);
      if (alert) streams.send(siteId, 'alert', alert);
    })
    .catch((error: unknown) => {
      position.release(key);
      logger.warn({ err: error, alertId: notice.alert_id }, 'live: reading a changed alert failed');
      streams.lost(siteId);
    });
}

interface CoalescedAggregates {
  /** A site's windows changed: read them after `coalesceMs`, with what else changes meanwhile. */
  add(notice: AggregatesNotice): void;
  /** Forgets the changes waiting to be read (the cursor is reset with them). */
  drop(): void;
  /** Drops them, and reads nothing more. */
  close(): void;
}

/** Aggregate changes of a site, read and sent once per `coalesceMs` whatever their number. */
function coalescedAggregates(
  { sql, logger, now, position, streams }: Reading,
  coalesceMs: number,
): CoalescedAggregates {
  /** Aggregate changes waiting to be read, per site; `key` holds their place in the cursor. */
  const pending = new Map<
    string,
    { from: number; to: number; key: string; timer: NodeJS.Timeout }
  >();
  let batches = 0;
  let closed = false;

  const flush = (siteId: string) => {
    const change = pending.get(siteId);
    pending.delete(siteId);
    if (!change) return;
    const { key } = change;
    if (closed || !streams.wants(siteId)) {
      position.release(key);
      return;
    }
    selectWindows(sql, { siteId, from: new Date(change.from), to: new Date(change.to) })
      .then((windows) => {
        position.release(key);
        if (windows.length > 0) streams.send(siteId, 'aggregates', { site_id: siteId, windows });
      })
      .catch((error: unknown) => {
        position.release(key);
        logger.warn({ err: error, siteId }, 'live: reading changed windows failed');
        streams.lost(siteId);
      });
  };

  const drop = () => {
    for (const { timer } of pending.values()) clearTimeout(timer);
    pending.clear();
  };

  return {
    add(notice) {
      const siteId = notice.site_id;
      if (!streams.wants(siteId)) return;
      const from = Date.parse(notice.from);
      const to = Date.parse(notice.to);
      const waiting = pending.get(siteId);
      if (waiting) {
        position.hold(waiting.key, BigInt(notice.xid), now());
        waiting.from = Math.min(waiting.from, from);
        waiting.to = Math.max(waiting.to, to);
        return;
      }
      const key = `aggregates:${siteId}:${++batches}`;
      position.hold(key, BigInt(notice.xid), now());
      const timer = setTimeout(flush, coalesceMs, siteId);
      pending.set(siteId, { from, to, key, timer });
    },
    drop,
    close() {
      closed = true;
      drop();
    },
  };
}

interface ChangeHandlers {
  notice(notice: Notice): void;
  /** The connection was lost and listens again: notifications in between never arrived. */
  interrupted(): void;
  /** The connection listens (at the start, and again after `interrupted`). */
  listening(): void;
}

/** The hub's LISTEN connection; the driver reconnects it when it is lost. */
function listenForChanges(sql: Sql, logger: Logger, handlers: ChangeHandlers) {
  let listening = false;
  return sql.listen(
    LIVE_CHANNEL,
    (payload) => {
      try {
        handlers.notice(JSON.parse(payload) as Notice);
      } catch (error) {
        logger.warn({ err: error, payload }, 'live: unreadable notification');
      }
    },
    () => {
      if (listening) handlers.interrupted();
      listening = true;
      handlers.listening();
    },
  );
}

// A marker is a notification like the others: once it arrives, everything committed before it
// has arrived too, so the cursor moves on while no data changes.
function sendMarker(sql: Sql, logger: Logger): void {
  sql`
    select pg_notify(${LIVE_CHANNEL}, json_build_object(
      'kind', 'marker', 'xmin', pg_snapshot_xmin(pg_current_snapshot())::text)::text)`.catch(
    (error: unknown) => {
      logger.warn({ err: error }, 'live: sending a marker failed');
    },
  );
}
