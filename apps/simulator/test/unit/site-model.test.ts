import assert from 'node:assert/strict';
import {
  DAY_MS,
  DEFAULT_ALERT_RULES,
  deviceId,
  HOUR_MS,
  MINUTE_MS,
  SENSOR_TYPES,
  SENSORS,
  type SensorType,
  type TelemetryEvent,
  validateEvent,
} from '@telemetrypulse/shared';
import { createSiteModel, type SiteModelOptions } from '../../src/site-model.ts';

/** A Monday, 00:00 UTC. */
const MONDAY = Date.parse('2025-01-06T00:00:00Z');

const SITE: SiteModelOptions = {
  siteId: 'site-01',
  zones: ['zone-01', 'zone-02', 'zone-03', 'zone-04', 'zone-05'],
  devicesPerZone: 3,
  sensors: [...SENSOR_TYPES],
  anomalyRate: 0.05,
  seed: 7,
};

/** Calls the model every `stepMs` from `startMs` for `durationMs`. */
function run(
  options: Partial<SiteModelOptions>,
  startMs: number,
  durationMs: number,
  stepMs: number,
) {
  const model = createSiteModel({ ...SITE, ...options });
  const events: TelemetryEvent[] = [];
  for (let t = startMs; t < startMs + durationMs; t += stepMs) events.push(model.nextEvent(t));
  return events;
}

function hourOf(event: TelemetryEvent): number {
  return new Date(event.ts_event).getUTCHours();
}

function mean(values: number[]): number {
  assert.ok(values.length > 0, 'no values to average');
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function valuesOf(events: TelemetryEvent[], sensor: SensorType, hours: readonly number[]) {
  return events
    .filter((e) => e.sensor_type === sensor && hours.includes(hourOf(e)))
    .map((e) => e.value);
}

const threshold = (sensor: SensorType) =>
  DEFAULT_ALERT_RULES.find((r) => r.sensorType === sensor)?.threshold ?? Number.POSITIVE_INFINITY;

const NIGHT = [1, 2, 3, 4];
const AFTERNOON = [14, 15, 16];

describe('site model', () => {
  describe('when a site is simulated for a week', () => {
    let week: TelemetryEvent[] = [];
    before(() => {
      week = run({}, MONDAY, 7 * DAY_MS, 10_000);
    });

    it('then every event passes the event contract', () => {
      for (const event of week) {
        const result = validateEvent(event, Date.parse(event.ts_event));
        assert.ok(result.ok, `${JSON.stringify(event)}: ${result.ok ? '' : result.reason}`);
      }
    });

    it('then every value lies in its physical range, rounded as a device reports it', () => {
      for (const event of week) {
        const spec = SENSORS[event.sensor_type];
        assert.ok(event.value >= spec.min && event.value <= spec.max, JSON.stringify(event));
        const decimals =
          event.sensor_type === 'temperature' || event.sensor_type === 'humidity' ? 1 : 0;
        assert.equal(Math.round(event.value * 10 ** decimals) / 10 ** decimals, event.value);
      }
    });

    it('then the event time is the simulated time, in UTC with Z', () => {
      assert.equal(week[0]?.ts_event, '2025-01-06T00:00:00.000Z');
      assert.equal(week[1]?.ts_event, '2025-01-06T00:00:10.000Z');
    });
  });

  describe('when anomalies are off', () => {
    let week: TelemetryEvent[] = [];
    before(() => {
      week = run({ anomalyRate: 0 }, MONDAY, 7 * DAY_MS, 10_000);
    });

    it('then no reading in a week crosses an alert threshold', () => {
      for (const event of week) {
        assert.ok(event.value <= threshold(event.sensor_type), JSON.stringify(event));
      }
    });

    it('then readings stay near the usual band of an occupied building', () => {
      for (const event of week) {
        const [low, high] = SENSORS[event.sensor_type].normal;
        const slack = (high - low) * 0.1;
        assert.ok(event.value >= low - slack && event.value <= high + slack, JSON.stringify(event));
      }
    });
  });

  describe('when a weekday passes', () => {
    let day: TelemetryEvent[] = [];
    before(() => {
      day = run({ anomalyRate: 0 }, MONDAY, DAY_MS, 5_000);
    });

    it('then the zones are empty at night and occupied at mid-morning', () => {
      assert.ok(valuesOf(day, 'occupancy', NIGHT).every((v) => v === 0));
      assert.ok(mean(valuesOf(day, 'occupancy', [10, 11])) > 5);
      assert.ok(day.every((e) => e.sensor_type !== 'occupancy' || Number.isInteger(e.value)));
    });

    it('then CO2 is higher when the zones are occupied than when they are empty', () => {
      const occupied = mean(valuesOf(day, 'co2', AFTERNOON));
      const empty = mean(valuesOf(day, 'co2', NIGHT));
      assert.ok(occupied > empty + 150, `occupied ${occupied} vs empty ${empty}`);
      assert.ok(empty >= 400 && empty < 480, `empty ${empty}`);
    });

    it('then CO2 lags occupancy: it is still raised just after the zone empties', () => {
      const hours = (e: TelemetryEvent) => (Date.parse(e.ts_event) - MONDAY) / HOUR_MS;
      for (const seed of [1, 2, 3, 4, 5]) {
        const zone = { zones: ['z'], devicesPerZone: 1, seed, anomalyRate: 0 };
        const events = run({ ...zone, sensors: ['occupancy', 'co2'] }, MONDAY, DAY_MS, 10_000);
        const co2 = events.filter((e) => e.sensor_type === 'co2');
        const emptiedAt = events.find(
          (e) => e.sensor_type === 'occupancy' && hours(e) > 17 && e.value === 0,
        );
        assert.ok(emptiedAt, 'the zone never emptied in the evening');
        const from = hours(emptiedAt);
        const justAfter = mean(
          co2.filter((e) => hours(e) >= from && hours(e) < from + 1 / 6).map((e) => e.value),
        );
        const night = mean(valuesOf(co2, 'co2', NIGHT));
        assert.ok(
          justAfter > night + 20,
          `seed ${seed}: ${justAfter} just after vs ${night} at night`,
        );
      }
    });

    it('then the afternoon is warmer than the night', () => {
      const afternoon = mean(valuesOf(day, 'temperature', AFTERNOON));
      const night = mean(valuesOf(day, 'temperature', NIGHT));
      assert.ok(afternoon > night + 2, `afternoon ${afternoon} vs night ${night}`);
    });

    it('then humidity drifts within 30-60 %', () => {
      const humidity = day.filter((e) => e.sensor_type === 'humidity').map((e) => e.value);
      assert.ok(Math.min(...humidity) >= 28 && Math.max(...humidity) <= 62);
      assert.ok(new Set(humidity).size > 50, 'humidity should vary');
    });
  });

  describe('when a weekend day passes', () => {
    let saturday: TelemetryEvent[] = [];
    before(() => {
      saturday = run({ anomalyRate: 0 }, MONDAY + 5 * DAY_MS, DAY_MS, 5_000);
    });
    let monday: TelemetryEvent[] = [];
    before(() => {
      monday = run({ anomalyRate: 0 }, MONDAY, DAY_MS, 5_000);
    });

    it('then far fewer people come than on a weekday', () => {
      const weekend = mean(valuesOf(saturday, 'occupancy', [10, 11, 12]));
      const weekday = mean(valuesOf(monday, 'occupancy', [10, 11, 12]));
      assert.ok(weekend < weekday / 3, `weekend ${weekend} vs weekday ${weekday}`);
    });
  });

  describe('when a day passes at the default anomaly rate', () => {
    let day: TelemetryEvent[] = [];
    before(() => {
      day = run({}, MONDAY, DAY_MS, 1_000);
    });

    for (const sensor of ['co2', 'temperature', 'humidity'] as const) {
      it(`then ${sensor} episodes cross the alert threshold and end again`, () => {
        const limit = threshold(sensor);
        let episodes = 0;
        for (const zone of SITE.zones) {
          const series = day.filter((e) => e.zone_id === zone && e.sensor_type === sensor);
          let above = false;
          for (const event of series) {
            // An end counts once the reading is back below the threshold.
            if (above && event.value <= limit) episodes++;
            above = event.value > limit;
          }
        }
        assert.ok(episodes >= 3, `${sensor}: ${episodes} finished episodes`);
      });
    }

    it('then zones spend most of the time below every threshold', () => {
      const alerting = day.filter((e) => e.value > threshold(e.sensor_type)).length;
      assert.ok(alerting < day.length * 0.05, `${alerting} of ${day.length} above threshold`);
    });
  });

  describe('when anomalies are on but no alerting sensor is configured', () => {
    it('then occupancy alone stays normal', () => {
      const day = run({ sensors: ['occupancy'] }, MONDAY, DAY_MS, 10_000);
      assert.ok(day.every((e) => e.value <= 25));
    });
  });

  describe('when two models share a seed', () => {
    const strip = (events: TelemetryEvent[]) => events.map(({ event_id: _id, ...rest }) => rest);

    it('then they produce the same readings', () => {
      const a = run({ seed: 123 }, MONDAY, DAY_MS, 30_000);
      const b = run({ seed: 123 }, MONDAY, DAY_MS, 30_000);
      assert.deepEqual(strip(a), strip(b));
    });

    it('then a different seed produces different readings', () => {
      const a = run({ seed: 123 }, MONDAY, DAY_MS, 30_000);
      const b = run({ seed: 124 }, MONDAY, DAY_MS, 30_000);
      assert.notDeepEqual(strip(a), strip(b));
    });

    it('then event ids still differ, so a restarted simulator never repeats one', () => {
      const a = run({ seed: 123 }, MONDAY, HOUR_MS, MINUTE_MS);
      const b = run({ seed: 123 }, MONDAY, HOUR_MS, MINUTE_MS);
      const ids = new Set([...a, ...b].map((e) => e.event_id));
      assert.equal(ids.size, a.length + b.length);
    });
  });

  describe('when readings go round-robin', () => {
    const options: Partial<SiteModelOptions> = {
      siteId: 'hq',
      zones: ['lobby', 'floor-2'],
      devicesPerZone: 3,
      sensors: ['co2', 'temperature'],
    };
    const model = createSiteModel({ ...SITE, ...options });
    const events = Array.from({ length: 36 }, (_, i) => model.nextEvent(MONDAY + i * 1000));
    const pairOf = (e: TelemetryEvent) => `${e.device_id}/${e.sensor_type}`;

    it('then one cycle covers every (device, sensor) pair exactly once', () => {
      assert.equal(model.pairCount, 12);
      const expected = ['lobby', 'floor-2'].flatMap((zone) =>
        [0, 1, 2].flatMap((d) =>
          ['co2', 'temperature'].map((s) => `${deviceId('hq', zone, d)}/${s}`),
        ),
      );
      assert.deepEqual(new Set(events.slice(0, 12).map(pairOf)), new Set(expected));
      assert.equal(new Set(events.slice(0, 12).map(pairOf)).size, 12);
    });

    it('then the next cycles repeat the same order', () => {
      assert.deepEqual(events.slice(12, 24).map(pairOf), events.slice(0, 12).map(pairOf));
      assert.deepEqual(events.slice(24, 36).map(pairOf), events.slice(0, 12).map(pairOf));
    });

    it('then device ids are named after their site and zone', () => {
      assert.ok(events.every((e) => e.site_id === 'hq'));
      assert.ok(events.every((e) => e.device_id.startsWith(`hq-${e.zone_id}-dev-`)));
      assert.deepEqual(new Set(events.map((e) => e.zone_id)), new Set(['lobby', 'floor-2']));
      assert.equal(events[0]?.device_id, 'hq-lobby-dev-01');
    });
  });

  describe('when a site has no pairs', () => {
    it('then the model refuses to start', () => {
      assert.throws(() => createSiteModel({ ...SITE, sensors: [] }), RangeError);
    });
  });
});
