import assert from 'node:assert/strict';
import { DEFAULT_ALERT_RULES } from '@telemetrypulse/shared';
import { buildingSamples } from '../../src/ops/building-gauges.ts';
import { ruleBook } from '../../src/alerts/rules.ts';

const RULES = ruleBook(DEFAULT_ALERT_RULES, new Map([['site-b', { occupancy: 30 }]]));

describe('buildingSamples', () => {
  it('when zones reported, then each sensor gauge gets one sample per zone', () => {
    const samples = buildingSamples(
      {
        zones: [
          { site_id: 'site-a', zone_id: 'z1', sensor_type: 'co2', avg_value: 612.5 },
          { site_id: 'site-a', zone_id: 'z2', sensor_type: 'co2', avg_value: 480 },
          { site_id: 'site-a', zone_id: 'z1', sensor_type: 'occupancy', avg_value: 3.5 },
          { site_id: 'site-a', zone_id: 'z1', sensor_type: 'pressure', avg_value: 1013 },
        ],
        openAlerts: [],
        sites: [],
      },
      RULES,
    );

    assert.deepEqual(samples.zones.co2, [
      { labels: { site_id: 'site-a', zone_id: 'z1' }, value: 612.5 },
      { labels: { site_id: 'site-a', zone_id: 'z2' }, value: 480 },
    ]);
    assert.deepEqual(samples.zones.occupancy, [
      { labels: { site_id: 'site-a', zone_id: 'z1' }, value: 3.5 },
    ]);
    assert.deepEqual(samples.zones.temperature, []);
    assert.deepEqual(samples.zones.humidity, []);
  });

  it('when a registered site has no incident, then each alert type of its rules shows 0', () => {
    const samples = buildingSamples(
      {
        zones: [],
        openAlerts: [{ site_id: 'site-a', alert_type: 'CO2_HIGH', open: 2 }],
        sites: [
          { site_id: 'site-a', last_event: 1_750_000_000.5 },
          { site_id: 'site-b', last_event: null },
        ],
      },
      RULES,
    );

    const open = Object.fromEntries(
      samples.alertsOpen.map((s) => [`${s.labels.site_id}/${s.labels.alert_type}`, s.value]),
    );
    assert.deepEqual(open, {
      'site-a/CO2_HIGH': 2,
      'site-a/TEMPERATURE_HIGH': 0,
      'site-a/HUMIDITY_HIGH': 0,
      // site-b's own rule for occupancy raises a type the defaults do not have.
      'site-b/CO2_HIGH': 0,
      'site-b/TEMPERATURE_HIGH': 0,
      'site-b/HUMIDITY_HIGH': 0,
      'site-b/OCCUPANCY_HIGH': 0,
    });
    // A site without events has no last event time yet.
    assert.deepEqual(samples.lastEvent, [
      { labels: { site_id: 'site-a' }, value: 1_750_000_000.5 },
    ]);
  });

  it('when an incident belongs to a site that is not registered, then it makes no series', () => {
    const samples = buildingSamples(
      {
        zones: [],
        openAlerts: [{ site_id: 'gone', alert_type: 'CO2_HIGH', open: 1 }],
        sites: [],
      },
      RULES,
    );

    assert.deepEqual(samples.alertsOpen, []);
  });

  it('when an open incident has a type the current rules no longer raise, then it is still counted', () => {
    const samples = buildingSamples(
      {
        zones: [],
        openAlerts: [{ site_id: 'site-a', alert_type: 'LEGACY_TYPE', open: 1 }],
        sites: [{ site_id: 'site-a', last_event: null }],
      },
      RULES,
    );

    assert.ok(
      samples.alertsOpen.some(
        (s) =>
          s.labels.alert_type === 'LEGACY_TYPE' && s.labels.site_id === 'site-a' && s.value === 1,
      ),
    );
  });
});
