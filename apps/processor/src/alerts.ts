import type { AlertSeverity, AlertTransitionKind, SensorType } from '@telemetrypulse/shared';
import { asRuleBook, type AlertRules } from './rules.ts';

/** A reading that was newly stored in this batch (redeliveries never reach the rules). */
export interface Reading {
  siteId: string;
  zoneId: string;
  sensorType: SensorType;
  value: number;
  tsMs: number;
}

/** One incident: at most one per site, zone and alert type is not resolved. */
export interface Incident {
  /** Set when the incident already exists in the database. */
  alertId?: number;
  siteId: string;
  zoneId: string;
  sensorType: SensorType;
  alertType: string;
  severity: AlertSeverity;
  /** The threshold it opened above. */
  threshold: number;
  /** The clear level in force: the incident resolves at the first reading at or below it. */
  clearThreshold: number;
  value: number;
  peakValue: number;
  eventCount: number;
  /** When readings went above the threshold; before triggeredAtMs when a rule waits. */
  conditionSinceMs: number;
  triggeredAtMs: number;
  lastSeenAtMs: number;
  resolvedAtMs?: number;
}

export interface AlertKey {
  siteId: string;
  zoneId: string;
  alertType: string;
}

/** What the rules remember about one key between batches (its alert_watermarks row). */
export interface KeyState {
  /** The newest reading time judged so far; older readings are late. */
  watermarkMs: number;
  /** While a rule with a "for" duration waits: when its readings went above the threshold. */
  pendingSinceMs?: number;
}

/** What the rules know about one key before the batch. */
export interface AlertState extends KeyState {
  active?: Incident;
}

export interface AlertTransition {
  transition: AlertTransitionKind;
  /** The incident as written at the end of the batch (the same object as in `incidents`). */
  incident: Incident;
  /** The incident as it was at this transition, for the alerts topic. */
  at: Incident;
}

export interface AlertEvaluation {
  /** Every incident opened, updated or resolved, as it stands after the batch. */
  incidents: Incident[];
  /** Opens and resolves, in event-time order. */
  transitions: AlertTransition[];
  /** The state of every key the batch had readings for, to store for the next batch. */
  keys: Map<string, AlertKey & KeyState>;
}

export function alertKey(siteId: string, zoneId: string, alertType: string): string {
  return `${siteId}\u0000${zoneId}\u0000${alertType}`;
}

interface Working extends AlertKey, KeyState {
  active?: Incident;
}

/**
 * Applies each site's rules to a batch of readings in event-time order, per site, zone and
 * alert type:
 * - nothing open: a reading above the threshold opens an incident, or, when the rule has a "for"
 *   duration, starts waiting; the incident opens at the first reading above the threshold that
 *   comes `forSeconds` or more after the wait began, and a reading at or below the threshold
 *   ends the wait;
 * - an incident open: a reading above the clear level updates it (value, peak, count, last
 *   seen), a reading at or below it resolves it (hysteresis).
 *
 * A reading older than what was already judged for its key (the watermark) is late: it cannot
 * open, reopen or resolve an incident, nor start or end a wait, but a late reading above the
 * clear level during the open incident still counts towards its peak and count. This matters
 * because a zone's devices sit on different partitions, so their readings reach the rules out of
 * order.
 */
export function evaluateAlerts(
  rules: AlertRules,
  states: ReadonlyMap<string, AlertState>,
  readings: readonly Reading[],
): AlertEvaluation {
  const book = asRuleBook(rules);
  const working = new Map<string, Working>();
  const changed = new Set<Incident>();
  const transitions: AlertTransition[] = [];
  const ordered = [...readings].sort((a, b) => a.tsMs - b.tsMs);

  for (const reading of ordered) {
    const rule = book.forSite(reading.siteId).get(reading.sensorType);
    if (!rule) continue;
    const key = alertKey(reading.siteId, reading.zoneId, rule.alertType);
    let state = working.get(key);
    if (!state) {
      const before = states.get(key);
      state = {
        siteId: reading.siteId,
        zoneId: reading.zoneId,
        alertType: rule.alertType,
        watermarkMs: before?.watermarkMs ?? Number.NEGATIVE_INFINITY,
      };
      if (before?.pendingSinceMs !== undefined) state.pendingSinceMs = before.pendingSinceMs;
      if (before?.active) state.active = { ...before.active };
      working.set(key, state);
    }
    const active = state.active;

    if (reading.tsMs < state.watermarkMs) {
      if (active && reading.value > rule.clear && reading.tsMs >= active.triggeredAtMs) {
        active.peakValue = Math.max(active.peakValue, reading.value);
        active.eventCount += 1;
        changed.add(active);
      }
      continue;
    }
    state.watermarkMs = reading.tsMs;

    if (active) {
      active.clearThreshold = rule.clear;
      changed.add(active);
      if (reading.value > rule.clear) {
        active.value = reading.value;
        active.peakValue = Math.max(active.peakValue, reading.value);
        active.eventCount += 1;
        active.lastSeenAtMs = reading.tsMs;
      } else {
        active.resolvedAtMs = reading.tsMs;
        transitions.push({ transition: 'resolved', incident: active, at: { ...active } });
        delete state.active;
      }
      continue;
    }
    if (reading.value <= rule.threshold) {
      delete state.pendingSinceMs;
      continue;
    }
    const since = state.pendingSinceMs ?? reading.tsMs;
    if (reading.tsMs - since < rule.forSeconds * 1000) {
      state.pendingSinceMs = since;
      continue;
    }
    delete state.pendingSinceMs;
    const opened: Incident = {
      siteId: reading.siteId,
      zoneId: reading.zoneId,
      sensorType: reading.sensorType,
      alertType: rule.alertType,
      severity: rule.severity,
      threshold: rule.threshold,
      clearThreshold: rule.clear,
      value: reading.value,
      peakValue: reading.value,
      eventCount: 1,
      conditionSinceMs: since,
      triggeredAtMs: reading.tsMs,
      lastSeenAtMs: reading.tsMs,
    };
    state.active = opened;
    changed.add(opened);
    transitions.push({ transition: 'opened', incident: opened, at: { ...opened } });
  }

  const keys = new Map<string, AlertKey & KeyState>();
  for (const [key, { siteId, zoneId, alertType, watermarkMs, pendingSinceMs }] of working) {
    const kept: AlertKey & KeyState = { siteId, zoneId, alertType, watermarkMs };
    if (pendingSinceMs !== undefined) kept.pendingSinceMs = pendingSinceMs;
    keys.set(key, kept);
  }
  return { incidents: [...changed], transitions, keys };
}
