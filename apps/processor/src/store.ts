import type { Sql, TelemetryEvent } from '@telemetrypulse/shared';
import type { AlertTransition, Incident } from './alerts.ts';
import type { AlertRules } from './rules.ts';
import { applyAlerts } from './store-alerts.ts';
import { eventKey, insertEvents, isStoredAlready, type InsertMode } from './store-events.ts';

export interface StoreResult {
  stored: TelemetryEvent[];
  duplicates: number;
  incidents: Incident[];
  transitions: AlertTransition[];
}

/** The batch without repeats of an event (event_id + ts_event), and the keys of the repeats. */
function withoutRepeats(events: readonly TelemetryEvent[]): {
  unique: TelemetryEvent[];
  repeats: string[];
} {
  const seen = new Set<string>();
  const unique: TelemetryEvent[] = [];
  const repeats: string[] = [];
  for (const e of events) {
    const key = eventKey(e.event_id, e.ts_event);
    if (seen.has(key)) repeats.push(key);
    else {
      seen.add(key);
      unique.push(e);
    }
  }
  return { unique, repeats };
}

/**
 * The events that were newly stored: all of them but, per key, as many copies as were repeats
 * in the batch or already stored (one copy of an event that came twice in a batch went in).
 */
function newlyStored(
  events: readonly TelemetryEvent[],
  duplicates: readonly string[],
): TelemetryEvent[] {
  if (duplicates.length === 0) return [...events];
  const skip = new Map<string, number>();
  for (const key of duplicates) skip.set(key, (skip.get(key) ?? 0) + 1);
  return events.filter((e) => {
    const key = eventKey(e.event_id, e.ts_event);
    const left = skip.get(key) ?? 0;
    if (left === 0) return true;
    skip.set(key, left - 1);
    return false;
  });
}

/**
 * Everything a batch changes, in one transaction; the caller commits offsets only after it.
 * Events are first stored as new, the cheap way. If one was stored before (a redelivery after a
 * crash or a rebalance), that transaction fails at once and leaves nothing; the batch is then
 * stored again skipping what is there.
 */
export async function storeBatch(
  sql: Sql,
  events: readonly TelemetryEvent[],
  rules: AlertRules,
): Promise<StoreResult> {
  if (events.length === 0) return { stored: [], duplicates: 0, incidents: [], transitions: [] };
  const { unique, repeats } = withoutRepeats(events);
  const store = (mode: InsertMode) =>
    sql.begin(async (tx) => {
      const already = await insertEvents(tx, unique, mode);
      const stored = newlyStored(events, [...repeats, ...already]);
      const { incidents, transitions } = await applyAlerts(tx, rules, stored);
      return { stored, duplicates: events.length - stored.length, incidents, transitions };
    });
  try {
    return await store('new');
  } catch (error) {
    if (!isStoredAlready(error)) throw error;
    return store('redelivered');
  }
}
