// The records the alerts topic carries.
import assert from 'node:assert/strict';
import { alertMessage } from '../../src/alerts/message.ts';
import type { Incident } from '../../src/alerts/evaluate.ts';

const incident: Incident = {
  siteId: 'site-01',
  zoneId: 'zone-02',
  sensorType: 'co2',
  alertType: 'CO2_HIGH',
  severity: 'critical',
  threshold: 1000,
  clearThreshold: 900,
  value: 1100,
  peakValue: 1400,
  eventCount: 5,
  conditionSinceMs: Date.parse('2026-01-01T10:00:00Z'),
  triggeredAtMs: Date.parse('2026-01-01T10:01:00Z'),
  lastSeenAtMs: Date.parse('2026-01-01T10:04:00Z'),
};

describe('alertMessage', () => {
  it('when an incident opens, then the record says so and has no resolve time', () => {
    assert.deepEqual(alertMessage(42, 'opened', incident), {
      alert_id: 42,
      transition: 'opened',
      version: 1,
      transition_at: '2026-01-01T10:01:00.000Z',
      status: 'open',
      site_id: 'site-01',
      zone_id: 'zone-02',
      sensor_type: 'co2',
      alert_type: 'CO2_HIGH',
      severity: 'critical',
      threshold: 1000,
      clear_threshold: 900,
      value: 1100,
      peak_value: 1400,
      event_count: 5,
      condition_since: '2026-01-01T10:00:00.000Z',
      triggered_at: '2026-01-01T10:01:00.000Z',
      last_seen_at: '2026-01-01T10:04:00.000Z',
      resolved_at: null,
    });
  });

  it('when an incident resolves, then the record carries the resolve time and status, and a higher version than its opening', () => {
    const resolved = { ...incident, resolvedAtMs: Date.parse('2026-01-01T10:05:00Z') };
    const message = alertMessage(42, 'resolved', resolved);
    assert.equal(message.status, 'resolved');
    assert.equal(message.transition, 'resolved');
    assert.equal(message.resolved_at, '2026-01-01T10:05:00.000Z');
    assert.equal(message.transition_at, '2026-01-01T10:05:00.000Z');
    assert.ok(message.version > alertMessage(42, 'opened', incident).version);
  });
});
