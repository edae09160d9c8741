import type { Logger, Sql } from '@telemetrypulse/shared';
import { selectAlert } from '../queries/alerts.ts';
import { selectWindows } from '../queries/live.ts';
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
  end(): void;
}

export interface LiveHub {
  /** Adds a client; the returned function removes it. */
  subscribe(client: LiveClient): () => void;
  clients(): number;
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
  /** How often the hub moves its cursor forward while nothing changes; default 15 s. */
  markerMs?: number;
  now?: () => number;
}

type Notice =
  | { kind: 'alert'; alert_id: number; site_id: string; xid: string; xmin: string }
  | { kind: 'aggregates'; site_id: string; from: string; to: string; xid: string; xmin: string }
  | { kind: 'marker'; xmin: string };

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
  markerMs = 15_000,
  now = Date.now,
}: LiveHubOptions): Promise<LiveHub> {
  const clients = new Set<LiveClient>();
  /** Aggregate changes waiting to be read, per site; `key` holds their place in the cursor. */
  const pending = new Map<
    string,
    { from: number; to: number; key: string; timer: NodeJS.Timeout }
  >();
  let batches = 0;
  const position = new LivePosition();
  let listening = false;
  let closed = false;

  const cursor = () => {
    const current = position.current();
    return current && formatCursor(current);
  };
  const broadcast = (siteId: string, event: LiveEvent, data: unknown) => {
    const id = cursor();
    for (const client of clients) {
      if (client.siteId === undefined || client.siteId === siteId) client.send(event, data, id);
    }
  };
  const wanted = (siteId: string) =>
    [...clients].some((c) => c.siteId === undefined || c.siteId === siteId);
  /** A change that cannot be sent: the streams that wanted it resume from the database. */
  const lost = (siteId: string) => {
    for (const client of clients) {
      if (client.siteId === undefined || client.siteId === siteId) {
        clients.delete(client);
        client.end();
      }
    }
  };

  const onAlert = (notice: Extract<Notice, { kind: 'alert' }>) => {
    const siteId = notice.site_id;
    if (!wanted(siteId)) return;
    const key = `alert:${notice.alert_id}:${notice.xid}`;
    position.hold(key, BigInt(notice.xid), now());
    selectAlert(sql, notice.alert_id)
      .then((alert) => {
        position.release(key);
        if (alert) broadcast(siteId, 'alert', alert);
      })
      .catch((error: unknown) => {
        position.release(key);
        logger.warn(
          { err: error, alertId: notice.alert_id },
          'live: reading a changed alert failed',
        );
        lost(siteId);
      });
  };

  const flushAggregates = (siteId: string) => {
    const change = pending.get(siteId);
    pending.delete(siteId);
    if (!change) return;
    const { key } = change;
    if (closed || !wanted(siteId)) {
      position.release(key);
      return;
    }
    selectWindows(sql, { siteId, from: new Date(change.from), to: new Date(change.to) })
      .then((windows) => {
        position.release(key);
        if (windows.length > 0) broadcast(siteId, 'aggregates', { site_id: siteId, windows });
      })
      .catch((error: unknown) => {
        position.release(key);
        logger.warn({ err: error, siteId }, 'live: reading changed windows failed');
        lost(siteId);
      });
  };

  const onAggregates = (notice: Extract<Notice, { kind: 'aggregates' }>) => {
    const siteId = notice.site_id;
    if (!wanted(siteId)) return;
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
    const timer = setTimeout(flushAggregates, coalesceMs, siteId);
    pending.set(siteId, { from, to, key, timer });
  };

  const onNotify = (payload: string) => {
    try {
      const notice = JSON.parse(payload) as Notice;
      // First hold what this change needs, then move the horizon past it.
      if (notice.kind === 'alert') onAlert(notice);
      else if (notice.kind === 'aggregates') onAggregates(notice);
      position.received(BigInt(notice.xmin), now());
    } catch (error) {
      logger.warn({ err: error, payload }, 'live: unreadable notification');
    }
  };

  // A marker is a notification like the others: once it arrives, everything committed before it
  // has arrived too, so the cursor moves on while no data changes.
  const sendMarker = () => {
    sql`
      select pg_notify(${LIVE_CHANNEL}, json_build_object(
        'kind', 'marker', 'xmin', pg_snapshot_xmin(pg_current_snapshot())::text)::text)`.catch(
      (error: unknown) => {
        logger.warn({ err: error }, 'live: sending a marker failed');
      },
    );
  };

  const onListen = () => {
    if (listening) {
      // Re-listening after a lost connection: notifications in between never arrived.
      logger.warn('live: notifications were interrupted; streams resume from their cursor');
      for (const timer of pending.values()) clearTimeout(timer.timer);
      pending.clear();
      position.reset();
      for (const client of clients) client.end();
      clients.clear();
    }
    listening = true;
    sendMarker();
  };

  const listener = await sql.listen(LIVE_CHANNEL, onNotify, onListen);
  const markers = setInterval(sendMarker, markerMs);
  markers.unref();

  return {
    subscribe(client) {
      clients.add(client);
      return () => clients.delete(client);
    },
    clients: () => clients.size,
    position: cursor,
    async close() {
      closed = true;
      clearInterval(markers);
      for (const { timer } of pending.values()) clearTimeout(timer);
      pending.clear();
      for (const client of clients) client.end();
      clients.clear();
      await listener.unlisten();
    },
  };
}
