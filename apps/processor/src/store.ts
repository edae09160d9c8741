import type { AlertRule, Sql, TelemetryEvent } from '@telemetrypulse/shared';
import type { Incident } from './alerts.ts';
import { applyAlerts } from './store-alerts.ts';
import { eventKey, insertEvents } from './store-events.ts';

export interface StoreResult {
  stored: TelemetryEvent[];
  duplicates: number;
  incidents: Incident[];
}

/** Everything a batch changes, in one transaction; the caller commits offsets only after it. */
export async function storeBatch(
  sql: Sql,
  events: readonly TelemetryEvent[],
  rules: readonly AlertRule[],
): Promise<StoreResult> {
  if (events.length === 0) return { stored: [], duplicates: 0, incidents: [] };
  return sql.begin(async (tx) => {
    const inserted = await insertEvents(tx, events);
    const stored = events.filter((e) => inserted.has(eventKey(e.event_id, e.ts_event)));
    const incidents = await applyAlerts(tx, rules, stored);
    return { stored, duplicates: events.length - stored.length, incidents };
  });
}
