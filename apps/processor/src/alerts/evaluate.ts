import type {
  AlertRule,
  AlertSeverity,
  AlertTransitionKind,
  SensorType,
} from '@telemetrypulse/shared';
import { asRuleBook, type AlertRules } from './rules.ts';

/** A reading that was newly stored in this batch (redeliveries never reach the rules). */
export interface Reading {
  siteId: string;
  zoneId: string;
  deviceId: string;
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

/** The newest reading of one device of the zone. */
export interface DeviceReading {
  value: number;
  tsMs: number;
}

/** What the rules remember about one key between batches (its alert_watermarks row). */
export interface KeyState {
  /** The newest reading time judged so far; older readings are late. */
  watermarkMs: number;
  /** While a rule with a "for" duration waits: when the zone went above the threshold. */
  pendingSinceMs?: number;
  /** The newest reading of each device heard from lately, by device id. */
  devices: ReadonlyMap<string, DeviceReading>;
}

/** What the rules know about one key before the batch. */
export interface AlertState extends Omit<KeyState, 'devices'> {
  /** Missing for keys judged before devices were tracked. */
  devices?: ReadonlyMap<string, DeviceReading>;
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

/**
 * A device silent this long (in event time, behind the zone's newest reading) no longer counts:
 * a sensor that went offline while reading high must not hold its zone's incident open forever.
 */
export const DEVICE_SILENT_AFTER_MS = 15 * 60_000;

interface Working extends AlertKey, Omit<KeyState, 'devices'> {
  devices: Map<string, DeviceReading>;
  active?: Incident;
}

/** The highest newest reading among the zone's devices that were heard from since `since`. */
function hottestDevice(devices: Map<string, DeviceReading>, since: number): number {
  let hottest = Number.NEGATIVE_INFINITY;
  for (const [deviceId, device] of devices) {
    if (device.tsMs < since) devices.delete(deviceId);
    else if (device.value > hottest) hottest = device.value;
  }
  return hottest;
}

/**
 * Applies each site's rules to a batch of readings, per site, zone and alert type, in event-time
 * order. A zone's condition is judged over the newest reading of each of its devices (those
 * heard from within DEVICE_SILENT_AFTER_MS), so one device above the threshold and another
 * below it do not make the incident flap:
 * - nothing open: once any device's newest reading is above the threshold, an incident opens, or,
 *   when the rule has a "for" duration, a wait starts; the incident opens at the first reading
 *   `forSeconds` or more after the wait began while the zone is still above, and the wait ends
 *   when no device is above the threshold any more;
 * - an incident open: each reading above the clear level counts (value, peak, count, last seen);
 *   the incident resolves at the reading that leaves every device at or below the clear level
 *   (hysteresis). Its value is the zone's hottest newest reading.
 * With one device per zone this is exactly the per-reading rule.
 *
 * A reading older than what was already judged for its key (the watermark) is late: it still
 * becomes its device's newest reading if it is, but it cannot open, reopen or resolve an
 * incident, nor start or end a wait; a late reading above the clear level during the open
 * incident still counts towards its peak and count. This matters because a zone's devices sit on
 * different partitions, so their readings reach the rules out of order.
 */
export function evaluateAlerts(
  rules: AlertRules,
  states: ReadonlyMap<string, AlertState>,
  readings: readonly Reading[],
  deviceSilentAfterMs = DEVICE_SILENT_AFTER_MS,
): AlertEvaluation {
  const book = asRuleBook(rules);
  const byKey = new Map<string, { rule: AlertRule; readings: Reading[] }>();
  for (const reading of readings) {
    const rule = book.forSite(reading.siteId).get(reading.sensorType);
    if (!rule) continue;
    const key = alertKey(reading.siteId, reading.zoneId, rule.alertType);
    const entry = byKey.get(key);
    if (entry) entry.readings.push(reading);
    else byKey.set(key, { rule, readings: [reading] });
  }

  // Each changed incident with the time of the reading that first changed it.
  const changed = new Map<Incident, number>();
  const transitions: AlertTransition[] = [];
  const keys = new Map<string, AlertKey & KeyState>();
  for (const [key, { rule, readings: keyReadings }] of byKey) {
    const first = keyReadings[0] as Reading;
    const before = states.get(key);
    const state: Working = {
      siteId: first.siteId,
      zoneId: first.zoneId,
      alertType: rule.alertType,
      watermarkMs: before?.watermarkMs ?? Number.NEGATIVE_INFINITY,
      devices: new Map(before?.devices),
    };
    if (before?.pendingSinceMs !== undefined) state.pendingSinceMs = before.pendingSinceMs;
    if (before?.active) state.active = { ...before.active };
    // Stable: readings of the same instant keep their arrival order.
    keyReadings.sort((a, b) => a.tsMs - b.tsMs);
    for (const reading of keyReadings)
      judge(state, rule, reading, deviceSilentAfterMs, changed, transitions);

    const { siteId, zoneId, alertType, watermarkMs, pendingSinceMs, devices } = state;
    const kept: AlertKey & KeyState = { siteId, zoneId, alertType, watermarkMs, devices };
    if (pendingSinceMs !== undefined) kept.pendingSinceMs = pendingSinceMs;
    keys.set(key, kept);
  }
  // Keys were judged one after the other; the outbox wants transitions in event-time order, and
  // new incidents get their ids in that order too.
  transitions.sort((a, b) => transitionTime(a) - transitionTime(b));
  const incidents = [...changed].sort((a, b) => a[1] - b[1]).map(([incident]) => incident);
  return { incidents, transitions, keys };
}

const transitionTime = (t: AlertTransition) =>
  t.transition === 'resolved' ? (t.at.resolvedAtMs ?? t.at.triggeredAtMs) : t.at.triggeredAtMs;

/** One reading's effect on its key's state (see evaluateAlerts). */
function judge(
  state: Working,
  rule: AlertRule,
  reading: Reading,
  deviceSilentAfterMs: number,
  changed: Map<Incident, number>,
  transitions: AlertTransition[],
): void {
  const touch = (incident: Incident) => {
    if (!changed.has(incident)) changed.set(incident, reading.tsMs);
  };
  const device = state.devices.get(reading.deviceId);
  if (!device || reading.tsMs >= device.tsMs) {
    state.devices.set(reading.deviceId, { value: reading.value, tsMs: reading.tsMs });
  }
  const active = state.active;

  if (reading.tsMs < state.watermarkMs) {
    if (active && reading.value > rule.clear && reading.tsMs >= active.triggeredAtMs) {
      active.peakValue = Math.max(active.peakValue, reading.value);
      active.eventCount += 1;
      touch(active);
    }
    return;
  }
  state.watermarkMs = reading.tsMs;
  const hottest = hottestDevice(state.devices, reading.tsMs - deviceSilentAfterMs);

  if (active) {
    active.clearThreshold = rule.clear;
    touch(active);
    if (reading.value > rule.clear) {
      active.peakValue = Math.max(active.peakValue, reading.value);
      active.eventCount += 1;
      active.lastSeenAtMs = reading.tsMs;
    }
    if (hottest > rule.clear) {
      active.value = hottest;
    } else {
      active.resolvedAtMs = reading.tsMs;
      transitions.push({ transition: 'resolved', incident: active, at: { ...active } });
      delete state.active;
    }
    return;
  }
  if (hottest <= rule.threshold) {
    delete state.pendingSinceMs;
    return;
  }
  const since = state.pendingSinceMs ?? reading.tsMs;
  if (reading.tsMs - since < rule.forSeconds * 1000) {
    state.pendingSinceMs = since;
    return;
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
    value: hottest,
    // The reading itself is among the devices' newest, so the hottest is at least its value.
    peakValue: hottest,
    eventCount: 1,
    conditionSinceMs: since,
    triggeredAtMs: reading.tsMs,
    lastSeenAtMs: reading.tsMs,
  };
  state.active = opened;
  touch(opened);
  transitions.push({ transition: 'opened', incident: opened, at: { ...opened } });
}
