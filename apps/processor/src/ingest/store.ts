import type { Sql, TelemetryEvent } from '@telemetrypulse/shared';
import type { AlertTransition, Incident } from '../alerts/evaluate.ts';
import type { AlertRules } from '../alerts/rules.ts';
import { applyAlerts } from '../alerts/store.ts';
import { pipelinedTransaction } from './pipelined-transaction.ts';
import { eventColumns, eventKey, insertEvents, isStoredAlready } from './store-events.ts';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

export interface StoreResult {
  stored: TelemetryEvent[];
  duplicates: number;
  incidents: Incident[];
  transitions: AlertTransition[];
}

/**
 * The events that were newly stored: all of them but, per key, as many copies as the database
 * reported already there (a batch may hold the same event twice; one copy then went in).
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
 * crash or a rebalance) or comes twice in the batch (a producer's retry), that transaction fails
 * at once and leaves nothing; the batch is then stored again skipping the copies.
 */
export async function storeBatch(
  sql: Sql,
  events: readonly TelemetryEvent[],
  rules: AlertRules,
): Promise<StoreResult> {
  if (events.length === 0) return { stored: [], duplicates: 0, incidents: [], transitions: [] };
  // Built before BEGIN, not between BEGIN and the statement: the transaction is open for as
  // little of the replica's own work as possible (some 10 ms for a large group).
  const columns = eventColumns(events);
  const asNew = () =>
    pipelinedTransaction(sql, async (tx, alongWithCommit) => {
      // Every event goes in or the transaction fails, so the alert rules can read the events
      // while the database inserts them: applyAlerts waits one turn of the event loop, in which
      // postgres.js sends the insert, and its own queries queue behind it.
      const [, { incidents, transitions }] = await Promise.all([
        insertEvents(tx, events, 'new', columns),
        nextTurn().then(() => applyAlerts(tx, rules, events, alongWithCommit)),
      ]);
      return { stored: [...events], duplicates: 0, incidents, transitions };
    });
  const skippingCopies = () =>
    pipelinedTransaction(sql, async (tx, alongWithCommit) => {
      const stored = newlyStored(events, await insertEvents(tx, events, 'redelivered', columns));
      const { incidents, transitions } = await applyAlerts(tx, rules, stored, alongWithCommit);
      return { stored, duplicates: events.length - stored.length, incidents, transitions };
    });
  try {
    return await asNew();
  } catch (error) {
    if (!isStoredAlready(error)) throw error;
    return skippingCopies();
  }
}
