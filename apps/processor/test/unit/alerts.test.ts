// The alert rules as a pure state machine: readings in, changed incidents out.
import assert from 'node:assert/strict';
import { DEFAULT_ALERT_RULES, type AlertRule } from '@telemetrypulse/shared';
import {
  alertKey,
  evaluateAlerts,
  judgedUntil,
  type AlertState,
  type Incident,
  type Reading,
} from '../../src/alerts.ts';

const NO_STATE: ReadonlyMap<string, AlertState> = new Map();

function reading(value: number, tsMs: number, overrides: Partial<Reading> = {}): Reading {
  return { siteId: 'site-01', zoneId: 'zone-01', sensorType: 'co2', value, tsMs, ...overrides };
}

function co2Incident(overrides: Partial<Incident> = {}): Incident {
  return {
    siteId: 'site-01',
    zoneId: 'zone-01',
    sensorType: 'co2',
    alertType: 'CO2_HIGH',
    severity: 'warning',
    threshold: 1000,
    value: 1200,
    peakValue: 1200,
    eventCount: 1,
    triggeredAtMs: 1000,
    lastSeenAtMs: 1000,
    ...overrides,
  };
}

function stateOf(state: AlertState): ReadonlyMap<string, AlertState> {
  return new Map([[alertKey('site-01', 'zone-01', 'CO2_HIGH'), state]]);
}

describe('evaluateAlerts', () => {
  it('when a reading equals the threshold, then no incident opens', () => {
    assert.deepEqual(evaluateAlerts(DEFAULT_ALERT_RULES, NO_STATE, [reading(1000, 1000)]), []);
  });

  it('when the first reading is above the threshold, then one incident opens with its values', () => {
    const incidents = evaluateAlerts(DEFAULT_ALERT_RULES, NO_STATE, [reading(1000.5, 1000)]);
    assert.deepEqual(incidents, [co2Incident({ value: 1000.5, peakValue: 1000.5 })]);
  });

  it('when readings stay above the threshold, then one incident tracks value, peak, count and last seen', () => {
    const incidents = evaluateAlerts(DEFAULT_ALERT_RULES, NO_STATE, [
      reading(1200, 1000),
      reading(1500, 2000),
      reading(1300, 3000),
    ]);
    assert.deepEqual(incidents, [
      co2Incident({ value: 1300, peakValue: 1500, eventCount: 3, lastSeenAtMs: 3000 }),
    ]);
  });

  it('when a reading falls to the threshold, then the incident resolves at that reading and later ones change nothing', () => {
    const incidents = evaluateAlerts(DEFAULT_ALERT_RULES, NO_STATE, [
      reading(1200, 1000),
      reading(1000, 2000),
      reading(900, 3000),
    ]);
    assert.deepEqual(incidents, [co2Incident({ resolvedAtMs: 2000 })]);
  });

  it('when readings go above, below and above again in one batch, then there are two incidents', () => {
    const incidents = evaluateAlerts(DEFAULT_ALERT_RULES, NO_STATE, [
      reading(1200, 1000),
      reading(800, 2000),
      reading(1300, 3000),
    ]);
    assert.deepEqual(incidents, [
      co2Incident({ resolvedAtMs: 2000 }),
      co2Incident({ value: 1300, peakValue: 1300, triggeredAtMs: 3000, lastSeenAtMs: 3000 }),
    ]);
  });

  it('when readings arrive out of order, then they are applied in event-time order', () => {
    const incidents = evaluateAlerts(DEFAULT_ALERT_RULES, NO_STATE, [
      reading(800, 4000),
      reading(1500, 2000),
      reading(1200, 1000),
      reading(1100, 3000),
    ]);
    assert.deepEqual(incidents, [
      co2Incident({
        value: 1100,
        peakValue: 1500,
        eventCount: 3,
        lastSeenAtMs: 3000,
        resolvedAtMs: 4000,
      }),
    ]);
  });

  it('when readings are older than the watermark and nothing is open, then they are ignored', () => {
    const states = stateOf({ watermarkMs: 5000 });
    const incidents = evaluateAlerts(DEFAULT_ALERT_RULES, states, [
      reading(1500, 4000),
      reading(1500, 4999),
    ]);
    assert.deepEqual(incidents, []);
  });

  it('when a reading has exactly the watermark time (another device, same instant), then it is judged', () => {
    const incidents = evaluateAlerts(DEFAULT_ALERT_RULES, stateOf({ watermarkMs: 5000 }), [
      reading(1500, 5000),
    ]);
    assert.deepEqual(incidents, [
      co2Incident({ value: 1500, peakValue: 1500, triggeredAtMs: 5000, lastSeenAtMs: 5000 }),
    ]);
  });

  it('when a late high reading falls inside the open incident, then it raises peak and count but not the latest value', () => {
    const active = co2Incident({
      alertId: 9,
      value: 1250,
      peakValue: 1300,
      eventCount: 3,
      lastSeenAtMs: 3000,
    });
    const incidents = evaluateAlerts(DEFAULT_ALERT_RULES, stateOf({ active, watermarkMs: 3000 }), [
      reading(1900, 2000),
      reading(1950, 500),
      reading(400, 2500),
    ]);
    assert.deepEqual(incidents, [{ ...active, peakValue: 1900, eventCount: 4 }]);
  });

  it('when a late high reading follows a resolved incident, then it cannot reopen it, but a newer one opens a new incident', () => {
    const states = stateOf({ watermarkMs: 5000 });
    const incidents = evaluateAlerts(DEFAULT_ALERT_RULES, states, [
      reading(1500, 4500),
      reading(1400, 6000),
    ]);
    assert.deepEqual(incidents, [
      co2Incident({ value: 1400, peakValue: 1400, triggeredAtMs: 6000, lastSeenAtMs: 6000 }),
    ]);
  });

  it('when an incident is already active, then it is updated under its id, not duplicated, and the given state is left alone', () => {
    const active = co2Incident({
      alertId: 7,
      value: 1100,
      peakValue: 1400,
      eventCount: 2,
      lastSeenAtMs: 2000,
    });
    const states = stateOf({ active, watermarkMs: 2000 });
    const before = structuredClone(active);

    const incidents = evaluateAlerts(DEFAULT_ALERT_RULES, states, [reading(1300, 3000)]);

    assert.deepEqual(incidents, [
      co2Incident({
        alertId: 7,
        value: 1300,
        peakValue: 1400,
        eventCount: 3,
        lastSeenAtMs: 3000,
      }),
    ]);
    assert.deepEqual(active, before);
  });

  it('when an active incident meets a normal reading, then that incident resolves under its id', () => {
    const active = co2Incident({ alertId: 7, lastSeenAtMs: 2000 });
    const incidents = evaluateAlerts(DEFAULT_ALERT_RULES, stateOf({ active, watermarkMs: 2000 }), [
      reading(700, 3000),
    ]);
    assert.deepEqual(incidents, [{ ...active, resolvedAtMs: 3000 }]);
  });

  it('when a sensor has no rule (occupancy), then its readings are ignored', () => {
    const incidents = evaluateAlerts(DEFAULT_ALERT_RULES, NO_STATE, [
      reading(9000, 1000, { sensorType: 'occupancy' }),
    ]);
    assert.deepEqual(incidents, []);
  });

  it('when site, zone or type differ, then their incidents are independent', () => {
    const incidents = evaluateAlerts(DEFAULT_ALERT_RULES, NO_STATE, [
      reading(1200, 1000),
      reading(1300, 1000, { zoneId: 'zone-02' }),
      reading(1400, 1000, { siteId: 'site-02' }),
      reading(31, 1000, { sensorType: 'temperature' }),
      // Normal readings elsewhere must not resolve zone-01's co2 incident.
      reading(500, 2000, { zoneId: 'zone-02' }),
      reading(20, 2000, { sensorType: 'temperature' }),
      reading(1250, 3000),
    ]);
    const summary = incidents
      .map((i) => `${i.siteId}/${i.zoneId}/${i.alertType} n=${i.eventCount} r=${i.resolvedAtMs}`)
      .sort();
    assert.deepEqual(summary, [
      'site-01/zone-01/CO2_HIGH n=2 r=undefined',
      'site-01/zone-01/TEMPERATURE_HIGH n=1 r=2000',
      'site-01/zone-02/CO2_HIGH n=1 r=2000',
      'site-02/zone-01/CO2_HIGH n=1 r=undefined',
    ]);
  });

  it('when custom rules are given, then only they apply, with their type, threshold and severity', () => {
    const rules: AlertRule[] = [
      { sensorType: 'occupancy', alertType: 'CROWDED', threshold: 15, severity: 'critical' },
    ];
    const incidents = evaluateAlerts(rules, NO_STATE, [
      reading(5000, 1000),
      reading(16, 1000, { sensorType: 'occupancy' }),
    ]);
    assert.deepEqual(incidents, [
      {
        siteId: 'site-01',
        zoneId: 'zone-01',
        sensorType: 'occupancy',
        alertType: 'CROWDED',
        severity: 'critical',
        threshold: 15,
        value: 16,
        peakValue: 16,
        eventCount: 1,
        triggeredAtMs: 1000,
        lastSeenAtMs: 1000,
      },
    ]);
  });
});

describe('judgedUntil', () => {
  it('when a batch has readings of several keys, then each key advances to its newest reading; sensors without a rule are left out', () => {
    const judged = judgedUntil(DEFAULT_ALERT_RULES, [
      reading(500, 3000),
      reading(500, 1000),
      reading(25, 2000, { sensorType: 'temperature' }),
      reading(5, 9000, { sensorType: 'occupancy' }),
    ]);
    assert.deepEqual(
      [...judged.values()],
      [
        { siteId: 'site-01', zoneId: 'zone-01', alertType: 'CO2_HIGH', tsMs: 3000 },
        { siteId: 'site-01', zoneId: 'zone-01', alertType: 'TEMPERATURE_HIGH', tsMs: 2000 },
      ],
    );
  });
});
