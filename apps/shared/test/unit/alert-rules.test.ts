// Alert rules of a site: the defaults with the site's overrides, and how a Site spec states them.
import assert from 'node:assert/strict';
import {
  DEFAULT_ALERT_RULES,
  resolveAlertRules,
  thresholdProblems,
  type AlertRule,
} from '../../src/contract/alert-rules.ts';
import {
  parseSite,
  parseThresholds,
  SITE_API_VERSION,
  SITE_KIND,
} from '../../src/contract/site.ts';

function ruleOf(rules: readonly AlertRule[], sensor: AlertRule['sensorType']) {
  return rules.find((r) => r.sensorType === sensor);
}

function manifest(spec: unknown): unknown {
  return { apiVersion: SITE_API_VERSION, kind: SITE_KIND, metadata: { name: 'hq' }, spec };
}

describe('alert rules', () => {
  describe('DEFAULT_ALERT_RULES', () => {
    it('when nothing is overridden, then the original thresholds apply with a clear level below each and no wait', () => {
      assert.deepEqual(
        DEFAULT_ALERT_RULES.map((r) => [
          r.alertType,
          r.threshold,
          r.clear,
          r.forSeconds,
          r.severity,
        ]),
        [
          ['CO2_HIGH', 1000, 900, 0, 'warning'],
          ['TEMPERATURE_HIGH', 30, 29, 0, 'warning'],
          ['HUMIDITY_HIGH', 80, 75, 0, 'warning'],
        ],
      );
    });
  });

  describe('resolveAlertRules', () => {
    it('when a site has no overrides, then its rules are the defaults', () => {
      assert.deepEqual(resolveAlertRules(DEFAULT_ALERT_RULES, undefined), DEFAULT_ALERT_RULES);
      assert.deepEqual(resolveAlertRules(DEFAULT_ALERT_RULES, {}), DEFAULT_ALERT_RULES);
    });

    it('when a bare number is given, then it is the threshold and the clear level keeps the default margin', () => {
      const rules = resolveAlertRules(DEFAULT_ALERT_RULES, { co2: 1200, temperature: 27.5 });
      assert.deepEqual(ruleOf(rules, 'co2'), {
        sensorType: 'co2',
        alertType: 'CO2_HIGH',
        threshold: 1200,
        clear: 1100,
        forSeconds: 0,
        severity: 'warning',
      });
      assert.deepEqual(
        [ruleOf(rules, 'temperature')?.threshold, ruleOf(rules, 'temperature')?.clear],
        [27.5, 26.5],
      );
      assert.deepEqual(ruleOf(rules, 'humidity'), ruleOf(DEFAULT_ALERT_RULES, 'humidity'));
    });

    it('when a rule object is given, then each field it sets replaces the default and the others stay', () => {
      const rules = resolveAlertRules(DEFAULT_ALERT_RULES, {
        co2: { threshold: 1500, clear: 1200, forSeconds: 120, severity: 'critical' },
        humidity: { forSeconds: 60 },
      });
      assert.deepEqual(ruleOf(rules, 'co2'), {
        sensorType: 'co2',
        alertType: 'CO2_HIGH',
        threshold: 1500,
        clear: 1200,
        forSeconds: 120,
        severity: 'critical',
      });
      assert.deepEqual(ruleOf(rules, 'humidity'), {
        ...ruleOf(DEFAULT_ALERT_RULES, 'humidity'),
        forSeconds: 60,
      });
    });

    it('when only a clear level is given, then the default threshold stays', () => {
      const rules = resolveAlertRules(DEFAULT_ALERT_RULES, { co2: { clear: 980 } });
      assert.deepEqual([ruleOf(rules, 'co2')?.threshold, ruleOf(rules, 'co2')?.clear], [1000, 980]);
    });

    it('when a clear level above the threshold reaches the resolver anyway, then it is lowered to the threshold', () => {
      const rules = resolveAlertRules(DEFAULT_ALERT_RULES, {
        co2: { threshold: 1000, clear: 1100 },
      });
      assert.equal(ruleOf(rules, 'co2')?.clear, 1000);
    });

    it('when a sensor without a default gets a threshold, then it gets a rule of its own type', () => {
      const rules = resolveAlertRules(DEFAULT_ALERT_RULES, { occupancy: 15 });
      assert.deepEqual(ruleOf(rules, 'occupancy'), {
        sensorType: 'occupancy',
        alertType: 'OCCUPANCY_HIGH',
        threshold: 15,
        clear: 13,
        forSeconds: 0,
        severity: 'warning',
      });
    });

    it('when a sensor without a default gets a rule without a threshold, then it has no rule', () => {
      const rules = resolveAlertRules(DEFAULT_ALERT_RULES, { occupancy: { forSeconds: 60 } });
      assert.equal(ruleOf(rules, 'occupancy'), undefined);
    });
  });

  describe('thresholdProblems', () => {
    it('when overrides are consistent, then there is no problem', () => {
      assert.deepEqual(
        thresholdProblems({ co2: 1200, occupancy: { threshold: 10, clear: 8 } }),
        [],
      );
    });

    it('when a clear level is above its threshold or a sensor has no threshold, then each is named', () => {
      assert.deepEqual(
        thresholdProblems({
          co2: { clear: 1001 },
          temperature: { threshold: 25, clear: 26 },
          occupancy: { severity: 'info' },
        }),
        [
          'thresholds.co2.clear (1001) must be at or below the threshold (1000)',
          'thresholds.temperature.clear (26) must be at or below the threshold (25)',
          'thresholds.occupancy.threshold is required: occupancy has no default',
        ],
      );
    });
  });

  describe('Site spec thresholds', () => {
    it('when a Site sets numbers and rule objects, then parseSite keeps them as given', () => {
      const thresholds = {
        co2: 1200,
        temperature: { threshold: 28, forSeconds: 300, severity: 'critical' },
      };
      assert.deepEqual(parseSite(manifest({ thresholds })).spec.thresholds, thresholds);
    });

    it('when a threshold is neither a number nor a rule object, then the problem is stated once', () => {
      assert.throws(
        () => parseSite(manifest({ thresholds: { co2: 'high' } })),
        /^Error: Site hq: spec\.thresholds\.co2 must be a number or an object$/,
      );
    });

    it('when a rule object has an unknown field, a bad severity or a negative wait, then each is named', () => {
      assert.throws(
        () => parseSite(manifest({ thresholds: { co2: { threshold: 1200, forSecs: 60 } } })),
        /spec\.thresholds\.co2 must NOT have additional properties: forSecs/,
      );
      assert.throws(
        () => parseSite(manifest({ thresholds: { co2: { severity: 'fatal' } } })),
        /spec\.thresholds\.co2\.severity must be equal to one of the allowed values: info, warning, critical/,
      );
      assert.throws(
        () => parseSite(manifest({ thresholds: { co2: { forSeconds: -1 } } })),
        /spec\.thresholds\.co2\.forSeconds must be >= 0/,
      );
    });

    it('when a sensor is unknown, then it is rejected', () => {
      assert.throws(
        () => parseSite(manifest({ thresholds: { pressure: 5 } })),
        /spec\.thresholds must NOT have additional properties: pressure/,
      );
    });

    it('when a clear level is above its threshold, then parseSite rejects the Site', () => {
      assert.throws(
        () => parseSite(manifest({ thresholds: { co2: { threshold: 1200, clear: 1300 } } })),
        /^Error: Site hq: spec\.thresholds\.co2\.clear \(1300\) must be at or below the threshold \(1200\)$/,
      );
    });

    it('when thresholds come from the database, then parseThresholds validates them the same way', () => {
      assert.deepEqual(parseThresholds({ co2: 1200 }), { co2: 1200 });
      assert.deepEqual(parseThresholds(null), {});
      assert.throws(() => parseThresholds({ co2: { clear: 2000 } }), /thresholds\.co2\.clear/);
      assert.throws(
        () => parseThresholds({ co2: [1] }),
        /thresholds\.co2 must be a number or an object/,
      );
    });
  });
});
