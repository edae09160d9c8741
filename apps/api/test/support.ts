import assert from 'node:assert/strict';
import {
  createLogger,
  windowOf,
  type Sql,
  type TelemetryAlertRow,
  type WindowRow as StoredWindowRow,
} from '@telemetrypulse/shared';
import { Registry } from 'prom-client';
import { createTestDatabase, type TestDatabase } from '@telemetrypulse/devstack/test';
import { createApi, type AppOptions } from '../src/app.ts';
import { startLiveHub, type LiveHub, type LiveHubOptions } from '../src/live/hub.ts';
import type { OpenApiDocument } from '../src/openapi.ts';
import { serve, type Served } from './serve.ts';
import type { SseReader } from './sse.ts';

export const logger = createLogger('api-test', 'silent');

export interface TestApi {
  db: TestDatabase;
  url: string;
  openApi: OpenApiDocument;
  close(): Promise<void>;
}

/** A fresh database and the API on a free port; close() undoes both. */
export async function startTestApi(
  options: Partial<Omit<AppOptions, 'sql' | 'logger'>> = {},
  db?: TestDatabase,
): Promise<TestApi> {
  const database = db ?? (await createTestDatabase());
  let served: Served;
  let openApi: OpenApiDocument;
  try {
    const api = createApi({ sql: database.sql, registry: new Registry(), logger, ...options });
    openApi = api.openApi;
    served = await serve(api.app);
  } catch (error) {
    if (!db) await database.drop();
    throw error;
  }
  return {
    db: database,
    url: served.url,
    openApi,
    close: async () => {
      await served.close();
      if (!db) await database.drop();
    },
  };
}

export interface LiveTestApi extends TestApi {
  hub: LiveHub;
  /** Streams a test opened; close() ends them first, so the server can close. */
  readers: SseReader[];
}

/**
 * A fresh database, a live hub listening on it and the API streaming from that hub; close()
 * ends the streams, the hub, the API and the database, in that order.
 */
export async function startLiveTestApi(
  options: Partial<Omit<AppOptions, 'sql' | 'logger' | 'live'>> = {},
  hubOptions: Omit<LiveHubOptions, 'sql' | 'logger'> = {},
): Promise<LiveTestApi> {
  const db = await createTestDatabase();
  let hub: LiveHub | undefined;
  let api: TestApi;
  try {
    hub = await startLiveHub({ sql: db.sql, logger, ...hubOptions });
    api = await startTestApi({ ...options, live: hub }, db);
  } catch (error) {
    await hub?.close();
    await db.drop();
    throw error;
  }
  const live = hub;
  const readers: SseReader[] = [];
  return {
    ...api,
    hub: live,
    readers,
    close: async () => {
      for (const reader of readers) reader.close();
      await live.close();
      await api.close();
      await db.drop();
    },
  };
}

export async function problemOf(response: Response): Promise<Record<string, unknown>> {
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  return (await response.json()) as Record<string, unknown>;
}

/** The columns of a window row that a test writes (the others are generated or defaulted). */
export type WindowRow = Pick<
  StoredWindowRow,
  | 'site_id'
  | 'zone_id'
  | 'sensor_type'
  | 'window_start'
  | 'count_events'
  | 'sum_value'
  | 'min_value'
  | 'max_value'
>;

/** A window row from `site/zone/sensor`, its start and [count, sum, min, max]. */
export function window(
  series: `${string}/${string}/${string}`,
  start: string,
  [count, sum, min, max]: [number, number, number, number],
): WindowRow {
  const [site_id = '', zone_id = '', sensor_type = ''] = series.split('/');
  return {
    site_id,
    zone_id,
    sensor_type,
    window_start: new Date(start),
    count_events: count,
    sum_value: sum,
    min_value: min,
    max_value: max,
  };
}

export async function insertWindows(
  sql: Sql,
  rows: WindowRow[],
  table: '5m' | '15m' = '5m',
): Promise<void> {
  await sql`insert into ${sql(windowOf(table).table)} ${sql(rows)}`;
}

export interface RawEvent {
  device_id: string;
  site_id: string;
  zone_id: string;
  sensor_type: string;
  value: number;
  ts_event: string;
}

/** Inserts raw events, creating the daily partitions they fall on (tests pin old clocks). */
export async function insertRawEvents(sql: Sql, events: RawEvent[]): Promise<void> {
  const days = events.map((e) => e.ts_event.slice(0, 10)).sort();
  await sql`select telemetry_ensure_partitions(${days[0] ?? ''}::date, ${days.at(-1) ?? ''}::date)`;
  await sql`insert into telemetry_events ${sql(
    events.map((e) => ({ ...e, event_id: crypto.randomUUID(), ts_event: new Date(e.ts_event) })),
  )}`;
}

export interface AlertSeed {
  site_id: string;
  zone_id: string;
  sensor_type: string;
  alert_type: string;
  threshold: number;
  value: number;
  triggered_at: string;
  status?: TelemetryAlertRow['status'];
  severity?: TelemetryAlertRow['severity'];
}

/** Inserts incidents as the processor writes them; returns their ids in order. */
export async function insertAlerts(sql: Sql, alerts: AlertSeed[]): Promise<number[]> {
  const rows = alerts.map((a) => ({
    site_id: a.site_id,
    zone_id: a.zone_id,
    sensor_type: a.sensor_type,
    alert_type: a.alert_type,
    severity: a.severity ?? 'warning',
    status: a.status ?? 'open',
    threshold: a.threshold,
    value: a.value,
    peak_value: a.value,
    triggered_at: new Date(a.triggered_at),
    last_seen_at: new Date(a.triggered_at),
    resolved_at: a.status === 'resolved' ? new Date(a.triggered_at) : null,
  }));
  const inserted = await sql<{ alert_id: number }[]>`
    insert into telemetry_alerts ${sql(rows)} returning alert_id`;
  return inserted.map((r) => r.alert_id);
}
