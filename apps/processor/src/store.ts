import type { Sql, TelemetryEvent } from '@telemetrypulse/shared';
import type { AlertTransition, Incident } from './alerts.ts';
import type { AlertRules } from './rules.ts';
import { applyAlerts } from './store-alerts.ts';
import { addToAggregates, eventKey, insertRawEvents } from './store-events.ts';

export interface StoreResult {
  stored: TelemetryEvent[];
  duplicates: number;
  incidents: Incident[];
  transitions: AlertTransition[];
}

/** Everything a batch changes, in one transaction; the caller commits offsets only after it. */
export async function storeBatch(
  sql: Sql,
  events: readonly TelemetryEvent[],
  rules: AlertRules,
): Promise<StoreResult> {
  if (events.length === 0) return { stored: [], duplicates: 0, incidents: [], transitions: [] };
  return sql.begin(async (tx) => {
    const duplicates = await insertRawEvents(tx, events);
    const stored =
      duplicates.size === 0
        ? [...events]
        : events.filter((e) => !duplicates.has(eventKey(e.event_id, e.ts_event)));
    const { incidents, transitions } = await applyAlerts(tx, rules, stored);
    await addToAggregates(tx, stored);
    return { stored, duplicates: events.length - stored.length, incidents, transitions };
  });
}
