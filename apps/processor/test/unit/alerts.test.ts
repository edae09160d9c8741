// The alert rules as a pure state machine: readings in, changed incidents, transitions and the
// per-key state out.
import assert from 'node:assert/strict';
import { DEFAULT_ALERT_RULES, type AlertRule } from '@telemetrypulse/shared';
import {
  alertKey,
  evaluateAlerts,
  type AlertState,
  type Incident,
  type Reading,
} from '../../src/alerts/evaluate.ts';
import { ruleBook, type AlertRules } from '../../src/alerts/rules.ts';

const NO_STATE: ReadonlyMap<string, AlertState> = new Map();
const CO2_KEY = alertKey('site-01', 'zone-01', 'CO2_HIGH');

function reading(value: number, tsMs: number, overrides: Partial<Reading> = {}): Reading {
  return {
    siteId: 'site-01',
    zoneId: 'zone-01',
    deviceId: 'site-01-zone-01-dev-01',
    sensorType: 'co2',
    value,
    tsMs,
    ...overrides,
  };
}

function co2Incident(overrides: Partial<Incident> = {}): Incident {
  const triggeredAtMs = overrides.triggeredAtMs ?? 1000;
  return {
    siteId: 'site-01',
    zoneId: 'zone-01',
    sensorType: 'co2',
    alertType: 'CO2_HIGH',
    severity: 'warning',
    threshold: 1000,
    clearThreshold: 900,
    value: 1200,
    peakValue: 1200,
    eventCount: 1,
    conditionSinceMs: triggeredAtMs,
    triggeredAtMs,
    lastSeenAtMs: triggeredAtMs,
    ...overrides,
  };
}

function stateOf(state: AlertState): ReadonlyMap<string, AlertState> {
  return new Map([[CO2_KEY, state]]);
}

/** The co2 rule with some fields changed, as the only rule. */
function co2Rule(overrides: Partial<AlertRule>): AlertRule[] {
  const base = DEFAULT_ALERT_RULES.find((r) => r.sensorType === 'co2');
  assert.ok(base);
  return [{ ...base, ...overrides }];
}

const incidentsOf = (
  rules: AlertRules,
  states: ReadonlyMap<string, AlertState>,
  readings: Reading[],
) => evaluateAlerts(rules, states, readings).incidents;

describe('evaluateAlerts', () => {
  describe('opening', () => {
    it('when a reading equals the threshold, then no incident opens', () => {
      assert.deepEqual(incidentsOf(DEFAULT_ALERT_RULES, NO_STATE, [reading(1000, 1000)]), []);
    });

    it('when the first reading is above the threshold, then one incident opens with its values', () => {
      const incidents = incidentsOf(DEFAULT_ALERT_RULES, NO_STATE, [reading(1000.5, 1000)]);
      assert.deepEqual(incidents, [co2Incident({ value: 1000.5, peakValue: 1000.5 })]);
    });

    it('when readings stay above the threshold, then one incident tracks value, peak, count and last seen', () => {
      const incidents = incidentsOf(DEFAULT_ALERT_RULES, NO_STATE, [
        reading(1200, 1000),
        reading(1500, 2000),
        reading(1300, 3000),
      ]);
      assert.deepEqual(incidents, [
        co2Incident({ value: 1300, peakValue: 1500, eventCount: 3, lastSeenAtMs: 3000 }),
      ]);
    });

    it('when a rule has a severity, then its incidents carry it', () => {
      const incidents = incidentsOf(co2Rule({ severity: 'critical' }), NO_STATE, [
        reading(1200, 1000),
      ]);
      assert.deepEqual(incidents, [co2Incident({ severity: 'critical' })]);
    });
  });

  describe('hysteresis', () => {
    it('when readings fall to the threshold but stay above the clear level, then the incident stays open and counts them', () => {
      const incidents = incidentsOf(DEFAULT_ALERT_RULES, NO_STATE, [
        reading(1200, 1000),
        reading(1000, 2000),
        reading(950, 3000),
        reading(1050, 4000),
      ]);
      assert.deepEqual(incidents, [
        co2Incident({ value: 1050, eventCount: 4, lastSeenAtMs: 4000 }),
      ]);
    });

    it('when a reading falls to the clear level, then the incident resolves at that reading and later ones change nothing', () => {
      const incidents = incidentsOf(DEFAULT_ALERT_RULES, NO_STATE, [
        reading(1200, 1000),
        reading(900, 2000),
        reading(850, 3000),
      ]);
      assert.deepEqual(incidents, [co2Incident({ resolvedAtMs: 2000 })]);
    });

    it('when values hover around the threshold, then only the first crossing opens an incident', () => {
      const values = [1010, 990, 1020, 980, 1005, 995, 1015];
      const incidents = incidentsOf(
        DEFAULT_ALERT_RULES,
        NO_STATE,
        values.map((v, i) => reading(v, 1000 * (i + 1))),
      );
      assert.deepEqual(
        incidents.map((i) => [i.triggeredAtMs, i.eventCount, i.resolvedAtMs]),
        [[1000, 7, undefined]],
      );
    });

    it('when readings go above, to the clear level and above again in one batch, then there are two incidents', () => {
      const incidents = incidentsOf(DEFAULT_ALERT_RULES, NO_STATE, [
        reading(1200, 1000),
        reading(800, 2000),
        reading(1300, 3000),
      ]);
      assert.deepEqual(incidents, [
        co2Incident({ resolvedAtMs: 2000 }),
        co2Incident({ value: 1300, peakValue: 1300, triggeredAtMs: 3000 }),
      ]);
    });

    it('when a value comes back between the clear level and the threshold after a resolve, then no incident opens', () => {
      const incidents = incidentsOf(DEFAULT_ALERT_RULES, NO_STATE, [
        reading(1200, 1000),
        reading(850, 2000),
        reading(950, 3000),
      ]);
      assert.deepEqual(incidents, [co2Incident({ resolvedAtMs: 2000 })]);
    });

    it('when the clear level changes while an incident is open, then the new level decides and is recorded', () => {
      const active = co2Incident({ alertId: 3 });
      const incidents = incidentsOf(
        co2Rule({ clear: 990 }),
        stateOf({ active, watermarkMs: 1000 }),
        [reading(980, 2000)],
      );
      assert.deepEqual(incidents, [{ ...active, clearThreshold: 990, resolvedAtMs: 2000 }]);
    });
  });

  describe('"for" duration', () => {
    const waits30s = co2Rule({ forSeconds: 30 });

    it('when readings stay above the threshold for less than the duration, then nothing opens and the wait is remembered', () => {
      const evaluation = evaluateAlerts(waits30s, NO_STATE, [
        reading(1200, 0),
        reading(1300, 10_000),
        reading(1250, 29_999),
      ]);
      assert.deepEqual(evaluation.incidents, []);
      assert.deepEqual(evaluation.transitions, []);
      assert.deepEqual(evaluation.keys.get(CO2_KEY), {
        siteId: 'site-01',
        zoneId: 'zone-01',
        alertType: 'CO2_HIGH',
        watermarkMs: 29_999,
        pendingSinceMs: 0,
        devices: new Map([['site-01-zone-01-dev-01', { value: 1250, tsMs: 29_999 }]]),
      });
    });

    it('when readings stay above the threshold for the duration, then the incident opens at that reading and remembers when the condition began', () => {
      const incidents = incidentsOf(waits30s, NO_STATE, [
        reading(1200, 0),
        reading(1400, 10_000),
        reading(1100, 30_000),
        reading(1150, 40_000),
      ]);
      assert.deepEqual(incidents, [
        co2Incident({
          value: 1150,
          peakValue: 1150,
          eventCount: 2,
          conditionSinceMs: 0,
          triggeredAtMs: 30_000,
          lastSeenAtMs: 40_000,
        }),
      ]);
    });

    it('when a reading at the threshold comes before the duration is over, then the wait is cancelled and starts again later', () => {
      const evaluation = evaluateAlerts(waits30s, NO_STATE, [
        reading(1200, 0),
        reading(1000, 20_000),
        reading(1300, 25_000),
        reading(1300, 40_000),
      ]);
      assert.deepEqual(evaluation.incidents, []);
      assert.equal(evaluation.keys.get(CO2_KEY)?.pendingSinceMs, 25_000);
    });

    it('when the wait began in an earlier batch, then the incident opens once the duration is over', () => {
      const incidents = incidentsOf(waits30s, stateOf({ watermarkMs: 20_000, pendingSinceMs: 0 }), [
        reading(1300, 30_000),
      ]);
      assert.deepEqual(incidents, [
        co2Incident({
          value: 1300,
          peakValue: 1300,
          conditionSinceMs: 0,
          triggeredAtMs: 30_000,
        }),
      ]);
    });

    it('when a normal reading is late, then it cannot cancel the wait', () => {
      const evaluation = evaluateAlerts(
        waits30s,
        stateOf({ watermarkMs: 20_000, pendingSinceMs: 0 }),
        [reading(500, 15_000), reading(1300, 30_000)],
      );
      assert.deepEqual(
        evaluation.incidents.map((i) => [i.conditionSinceMs, i.triggeredAtMs]),
        [[0, 30_000]],
      );
    });

    it('when an incident resolves, then a new one waits the whole duration again', () => {
      const evaluation = evaluateAlerts(
        waits30s,
        stateOf({ watermarkMs: 40_000, active: co2Incident({ alertId: 4 }) }),
        [reading(800, 50_000), reading(1200, 60_000), reading(1200, 80_000)],
      );
      assert.deepEqual(
        evaluation.incidents.map((i) => [i.alertId, i.resolvedAtMs]),
        [[4, 50_000]],
      );
      assert.equal(evaluation.keys.get(CO2_KEY)?.pendingSinceMs, 60_000);
    });
  });

  describe('transitions', () => {
    it('when an incident opens and resolves in one batch, then both transitions are given, each as it was then', () => {
      const { incidents, transitions } = evaluateAlerts(DEFAULT_ALERT_RULES, NO_STATE, [
        reading(1200, 1000),
        reading(1500, 2000),
        reading(700, 3000),
      ]);
      assert.deepEqual(
        transitions.map((t) => [t.transition, t.at]),
        [
          ['opened', co2Incident()],
          [
            'resolved',
            co2Incident({
              value: 1500,
              peakValue: 1500,
              eventCount: 2,
              lastSeenAtMs: 2000,
              resolvedAtMs: 3000,
            }),
          ],
        ],
      );
      assert.ok(transitions.every((t) => t.incident === incidents[0]));
    });

    it('when an open incident is only updated, then there is no transition', () => {
      const { transitions } = evaluateAlerts(
        DEFAULT_ALERT_RULES,
        stateOf({ watermarkMs: 1000, active: co2Incident({ alertId: 1 }) }),
        [reading(1300, 2000)],
      );
      assert.deepEqual(transitions, []);
    });
  });

  describe('late and out-of-order readings', () => {
    it('when readings arrive out of order, then they are applied in event-time order', () => {
      const incidents = incidentsOf(DEFAULT_ALERT_RULES, NO_STATE, [
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

    it('when readings are older than the watermark and nothing is open, then they are ignored and the watermark stays', () => {
      const evaluation = evaluateAlerts(DEFAULT_ALERT_RULES, stateOf({ watermarkMs: 5000 }), [
        reading(1500, 4000),
        reading(1500, 4999),
      ]);
      assert.deepEqual(evaluation.incidents, []);
      assert.equal(evaluation.keys.get(CO2_KEY)?.watermarkMs, 5000);
      assert.equal(evaluation.keys.get(CO2_KEY)?.pendingSinceMs, undefined);
    });

    it('when a reading has exactly the watermark time (another device, same instant), then it is judged', () => {
      const incidents = incidentsOf(DEFAULT_ALERT_RULES, stateOf({ watermarkMs: 5000 }), [
        reading(1500, 5000),
      ]);
      assert.deepEqual(incidents, [
        co2Incident({ value: 1500, peakValue: 1500, triggeredAtMs: 5000 }),
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
      const incidents = incidentsOf(DEFAULT_ALERT_RULES, stateOf({ active, watermarkMs: 3000 }), [
        reading(1900, 2000),
        reading(1950, 500),
        reading(400, 2500),
      ]);
      assert.deepEqual(incidents, [{ ...active, peakValue: 1900, eventCount: 4 }]);
    });

    it('when a late high reading follows a resolved incident, then it cannot reopen it, but a newer one opens a new incident', () => {
      const incidents = incidentsOf(DEFAULT_ALERT_RULES, stateOf({ watermarkMs: 5000 }), [
        reading(1500, 4500),
        reading(1400, 6000),
      ]);
      assert.deepEqual(incidents, [
        co2Incident({ value: 1400, peakValue: 1400, triggeredAtMs: 6000 }),
      ]);
    });
  });

  describe('existing incidents and keys', () => {
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

      const incidents = incidentsOf(DEFAULT_ALERT_RULES, states, [reading(1300, 3000)]);

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
      const incidents = incidentsOf(DEFAULT_ALERT_RULES, stateOf({ active, watermarkMs: 2000 }), [
        reading(700, 3000),
      ]);
      assert.deepEqual(incidents, [{ ...active, resolvedAtMs: 3000 }]);
    });

    it('when a sensor has no rule (occupancy), then its readings are ignored and its key is not touched', () => {
      const evaluation = evaluateAlerts(DEFAULT_ALERT_RULES, NO_STATE, [
        reading(9000, 1000, { sensorType: 'occupancy' }),
      ]);
      assert.deepEqual(evaluation.incidents, []);
      assert.equal(evaluation.keys.size, 0);
    });

    it('when site, zone or type differ, then their incidents are independent', () => {
      const incidents = incidentsOf(DEFAULT_ALERT_RULES, NO_STATE, [
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

    it('when a batch has readings of several keys, then each key advances to its newest judged reading', () => {
      const { keys } = evaluateAlerts(DEFAULT_ALERT_RULES, NO_STATE, [
        reading(500, 3000),
        reading(500, 1000),
        reading(25, 2000, { sensorType: 'temperature' }),
      ]);
      assert.deepEqual(
        [...keys.values()].map((k) => [k.alertType, k.watermarkMs]),
        [
          ['CO2_HIGH', 3000],
          ['TEMPERATURE_HIGH', 2000],
        ],
      );
    });
  });

  describe('several devices in a zone', () => {
    const deviceA = { deviceId: 'site-01-zone-01-dev-01' };
    const deviceB = { deviceId: 'site-01-zone-01-dev-02' };

    it('when one device stays above the threshold and another below the clear level, then one incident stays open and does not flap', () => {
      const evaluation = evaluateAlerts(DEFAULT_ALERT_RULES, NO_STATE, [
        reading(1200, 1000, deviceA),
        reading(700, 1500, deviceB),
        reading(1300, 2000, deviceA),
        reading(650, 2500, deviceB),
        reading(1250, 3000, deviceA),
      ]);
      assert.deepEqual(
        evaluation.transitions.map((t) => [t.transition, t.at.triggeredAtMs]),
        [['opened', 1000]],
      );
      assert.deepEqual(evaluation.incidents, [
        co2Incident({ value: 1250, peakValue: 1300, eventCount: 3, lastSeenAtMs: 3000 }),
      ]);
    });

    it('when the hot device falls to the clear level while the others are already there, then the incident resolves at that reading', () => {
      const incidents = incidentsOf(DEFAULT_ALERT_RULES, NO_STATE, [
        reading(1200, 1000, deviceA),
        reading(950, 1500, deviceB),
        reading(880, 2000, deviceA),
        reading(890, 3000, deviceB),
      ]);
      // At 2000 device B still reads 950 (above the clear level): the zone is not clear yet.
      assert.deepEqual(incidents, [
        co2Incident({
          value: 950,
          peakValue: 1200,
          eventCount: 2,
          lastSeenAtMs: 1500,
          resolvedAtMs: 3000,
        }),
      ]);
    });

    it("when another device goes above the threshold while nothing is open, then the incident opens with the zone's hottest value", () => {
      const incidents = incidentsOf(DEFAULT_ALERT_RULES, NO_STATE, [
        reading(600, 1000, deviceA),
        reading(1100, 2000, deviceB),
        reading(650, 3000, deviceA),
      ]);
      assert.deepEqual(incidents, [
        co2Incident({ triggeredAtMs: 2000, value: 1100, peakValue: 1100, lastSeenAtMs: 2000 }),
      ]);
    });

    it('when a device that read high falls silent, then after the silence limit it no longer holds the incident open', () => {
      const silence = 60_000;
      const evaluation = evaluateAlerts(
        DEFAULT_ALERT_RULES,
        NO_STATE,
        [
          reading(1200, 1000, deviceA),
          reading(700, 30_000, deviceB),
          reading(700, 61_000, deviceB),
          reading(700, 61_001, deviceB),
        ],
        silence,
      );
      assert.deepEqual(
        evaluation.incidents.map((i) => [i.triggeredAtMs, i.resolvedAtMs]),
        [[1000, 61_001]],
      );
      assert.deepEqual(
        [...(evaluation.keys.get(CO2_KEY)?.devices.keys() ?? [])],
        [deviceB.deviceId],
      );
    });

    it('when the state of earlier batches knows the devices, then a batch continues from it', () => {
      const active = co2Incident({ alertId: 3 });
      const devices = new Map([
        [deviceA.deviceId, { value: 1200, tsMs: 1000 }],
        [deviceB.deviceId, { value: 700, tsMs: 900 }],
      ]);
      const evaluation = evaluateAlerts(
        DEFAULT_ALERT_RULES,
        stateOf({ active, watermarkMs: 1000, devices }),
        [reading(650, 2000, deviceB)],
      );
      assert.deepEqual(evaluation.transitions, []);
      assert.deepEqual(
        evaluation.keys.get(CO2_KEY)?.devices,
        new Map([
          [deviceA.deviceId, { value: 1200, tsMs: 1000 }],
          [deviceB.deviceId, { value: 650, tsMs: 2000 }],
        ]),
      );
    });

    it("when a device's reading is late for the zone but its own newest, then it is remembered and decides at the next reading", () => {
      const active = co2Incident({ alertId: 3 });
      const devices = new Map([[deviceA.deviceId, { value: 1200, tsMs: 1000 }]]);
      const evaluation = evaluateAlerts(
        DEFAULT_ALERT_RULES,
        stateOf({ active, watermarkMs: 5000, devices }),
        [reading(800, 4000, deviceA), reading(850, 6000, deviceB)],
      );
      assert.deepEqual(
        evaluation.incidents.map((i) => [i.alertId, i.resolvedAtMs]),
        [[3, 6000]],
      );
    });
  });

  describe('rules per site', () => {
    it('when custom rules are given, then only they apply, with their type, thresholds and severity', () => {
      const rules: AlertRule[] = [
        {
          sensorType: 'occupancy',
          alertType: 'CROWDED',
          threshold: 15,
          clear: 12,
          forSeconds: 0,
          severity: 'critical',
        },
      ];
      const incidents = incidentsOf(rules, NO_STATE, [
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
          clearThreshold: 12,
          value: 16,
          peakValue: 16,
          eventCount: 1,
          conditionSinceMs: 1000,
          triggeredAtMs: 1000,
          lastSeenAtMs: 1000,
        },
      ]);
    });

    it('when one site overrides a threshold, then its readings are judged by it and other sites keep the default', () => {
      const book = ruleBook(DEFAULT_ALERT_RULES, new Map([['site-01', { co2: 1200 }]]));
      const incidents = incidentsOf(book, NO_STATE, [
        reading(1100, 1000),
        reading(1100, 1000, { siteId: 'site-02' }),
        reading(1250, 2000),
      ]);
      assert.deepEqual(
        incidents.map((i) => [i.siteId, i.threshold, i.clearThreshold, i.triggeredAtMs]),
        [
          ['site-02', 1000, 900, 1000],
          ['site-01', 1200, 1100, 2000],
        ],
      );
    });
  });
});
