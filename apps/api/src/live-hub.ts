import type { Logger, Sql } from '@telemetrypulse/shared';
import { selectAlert } from './queries/alerts.ts';
import { selectWindows } from './queries/live.ts';

export const ALERT_CHANNEL = 'telemetry_alerts';
export const AGGREGATE_CHANNEL = 'telemetry_aggregates';

/** One open stream: what it wants, and how to reach it. */
export interface LiveClient {
  /** Only this site's changes; all sites when undefined. */
  siteId: string | undefined;
  send(event: 'alert' | 'aggregates', data: unknown): void;
  /** Ends the stream (shutdown). */
  end(): void;
}

export interface LiveHub {
  /** Adds a client; the returned function removes it. */
  subscribe(client: LiveClient): () => void;
  clients(): number;
  /** Stops listening and ends every stream, so the server can close. */
  close(): Promise<void>;
}

export interface LiveHubOptions {
  sql: Sql;
  logger: Logger;
  /** Aggregate changes of one site arriving within this time are read and sent once. */
  coalesceMs?: number;
}

interface AggregateChange {
  site_id: string;
  from: string;
  to: string;
}

/**
 * Fans database changes out to live streams. One LISTEN connection per API process (postgres.js
 * re-listens after reconnecting); each change is read from the database once, whatever the
 * number of clients, and aggregate changes of a site are coalesced, since a busy processor
 * upserts its windows many times a second.
 */
export async function startLiveHub({
  sql,
  logger,
  coalesceMs = 500,
}: LiveHubOptions): Promise<LiveHub> {
  const clients = new Set<LiveClient>();
  const pending = new Map<string, { from: number; to: number; timer: NodeJS.Timeout }>();
  let closed = false;

  const broadcast = (siteId: string, event: 'alert' | 'aggregates', data: unknown) => {
    for (const client of clients) {
      if (client.siteId === undefined || client.siteId === siteId) client.send(event, data);
    }
  };
  const wanted = (siteId: string) =>
    [...clients].some((c) => c.siteId === undefined || c.siteId === siteId);

  const onAlert = (payload: string) => {
    const { alert_id: alertId, site_id: siteId } = JSON.parse(payload) as {
      alert_id: number;
      site_id: string;
    };
    if (!wanted(siteId)) return;
    selectAlert(sql, alertId).then(
      (alert) => {
        if (alert) broadcast(siteId, 'alert', alert);
      },
      (error: unknown) => {
        logger.warn({ err: error, alertId }, 'live: reading a changed alert failed');
      },
    );
  };

  const flushAggregates = (siteId: string) => {
    const change = pending.get(siteId);
    pending.delete(siteId);
    if (!change || closed || !wanted(siteId)) return;
    selectWindows(sql, { siteId, from: new Date(change.from), to: new Date(change.to) }).then(
      (windows) => {
        if (windows.length > 0) broadcast(siteId, 'aggregates', { site_id: siteId, windows });
      },
      (error: unknown) => {
        logger.warn({ err: error, siteId }, 'live: reading changed windows failed');
      },
    );
  };

  const onAggregates = (payload: string) => {
    const change = JSON.parse(payload) as AggregateChange;
    const from = Date.parse(change.from);
    const to = Date.parse(change.to);
    const waiting = pending.get(change.site_id);
    if (waiting) {
      waiting.from = Math.min(waiting.from, from);
      waiting.to = Math.max(waiting.to, to);
      return;
    }
    const timer = setTimeout(flushAggregates, coalesceMs, change.site_id);
    pending.set(change.site_id, { from, to, timer });
  };

  const guarded = (handle: (payload: string) => void) => (payload: string) => {
    try {
      handle(payload);
    } catch (error) {
      logger.warn({ err: error, payload }, 'live: unreadable notification');
    }
  };
  const listeners = await Promise.all([
    sql.listen(ALERT_CHANNEL, guarded(onAlert)),
    sql.listen(AGGREGATE_CHANNEL, guarded(onAggregates)),
  ]);

  return {
    subscribe(client) {
      clients.add(client);
      return () => clients.delete(client);
    },
    clients: () => clients.size,
    async close() {
      closed = true;
      for (const { timer } of pending.values()) clearTimeout(timer);
      pending.clear();
      for (const client of clients) client.end();
      clients.clear();
      await Promise.all(listeners.map((l) => l.unlisten()));
    },
  };
}
