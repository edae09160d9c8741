import {
  DAY_MS,
  DEFAULT_ALERT_RULES,
  deviceId,
  HOUR_MS,
  MINUTE_MS,
  newEventId,
  SENSORS,
  type SensorType,
  type TelemetryEvent,
} from '@telemetrypulse/shared';
import { gaussian, hashUnit, seededRandom, type Random } from './random.ts';

export interface SiteModelOptions {
  siteId: string;
  zones: readonly string[];
  devicesPerZone: number;
  sensors: readonly SensorType[];
  /** Probability per minute that an anomaly episode starts in a zone; 0 turns them off. */
  anomalyRate: number;
  seed: number;
}

export interface SiteModel {
  /** The (device, sensor) pairs that report; readings go round-robin over them. */
  readonly pairCount: number;
  /** The next pair's reading at `nowMs`; call with non-decreasing times. */
  nextEvent(nowMs: number): TelemetryEvent;
}

interface Episode {
  sensor: SensorType;
  startMs: number;
  endMs: number;
  peak: number;
}

interface ZoneState {
  id: string;
  deviceIds: string[];
  /** People in the zone at full attendance. */
  capacity: number;
  co2PerPerson: number;
  temperatureOffset: number;
  lastMs: number;
  attendance: number;
  humidity: number;
  /** Lags its occupancy-driven target, as air does. */
  co2: number;
  episode: Episode | undefined;
  nextEpisodeMs: number;
}

/** A mean-reverting random walk (Ornstein-Uhlenbeck), stepped exactly for any time gap. */
interface Drift {
  mean: number;
  sd: number;
  tauMs: number;
  min: number;
  max: number;
}

const ATTENDANCE: Drift = { mean: 0.85, sd: 0.08, tauMs: HOUR_MS, min: 0.4, max: 1 };
const HUMIDITY: Drift = { mean: 45, sd: 5, tauMs: 3 * HOUR_MS, min: 32, max: 58 };
const OUTDOOR_CO2_PPM = 420;
/** CO2 a full zone adds at steady state; with the outdoor level it stays inside 400-800 ppm. */
const FULL_ZONE_CO2_PPM = 360;
const CO2_TAU_MS = 20 * MINUTE_MS;
/** Slow states need no update for every reading at high rates. */
const STATE_STEP_MS = 1000;

type Knots = readonly (readonly [hour: number, level: number])[];
// Share of the zone's capacity present, by UTC hour: office hours with a lunch dip.
const WEEKDAY: Knots = [
  [0, 0],
  [7, 0],
  [9, 0.95],
  [12.5, 1],
  [13, 0.65],
  [13.75, 0.95],
  [16.5, 0.9],
  [18.5, 0.15],
  [20, 0],
  [24, 0],
];
const WEEKEND: Knots = [
  [0, 0],
  [9, 0],
  [11, 0.1],
  [15, 0.1],
  [17, 0],
  [24, 0],
];

/** How far above the processor's threshold an anomaly peaks, [low, high]. */
const ANOMALY_EXCESS: Partial<Record<SensorType, readonly [number, number]>> = {
  co2: [250, 1000],
  temperature: [2, 6],
  humidity: [5, 12],
};
const THRESHOLDS = new Map(DEFAULT_ALERT_RULES.map((r) => [r.sensorType, r.threshold]));

const DECIMALS: Record<SensorType, number> = {
  co2: 0,
  temperature: 1,
  humidity: 1,
  occupancy: 0,
};

function interpolate(knots: Knots, hour: number): number {
  for (let i = 1; i < knots.length; i++) {
    const [h1, v1] = knots[i] ?? [24, 0];
    if (hour <= h1) {
      const [h0, v0] = knots[i - 1] ?? [0, 0];
      return v0 + ((v1 - v0) * (hour - h0)) / (h1 - h0);
    }
  }
  return 0;
}

/** Share of capacity present at `nowMs`: high on weekday office hours, zero at night. */
export function officeLevel(nowMs: number): number {
  const day = new Date(nowMs).getUTCDay();
  const hour = (((nowMs % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS;
  return interpolate(day === 0 || day === 6 ? WEEKEND : WEEKDAY, hour);
}

/** +1 at 15:00 (warmest), -1 at 03:00 (coolest). */
function dailyCycle(nowMs: number): number {
  const hour = (((nowMs % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS;
  return Math.cos((2 * Math.PI * (hour - 15)) / 24);
}

function drift(value: number, d: Drift, dtMs: number, random: Random): number {
  const keep = Math.exp(-dtMs / d.tauMs);
  const next =
    d.mean + (value - d.mean) * keep + d.sd * Math.sqrt(1 - keep * keep) * gaussian(random);
  return clamp(next, d.min, d.max);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Clamped to the sensor's physical range and rounded as a real device reports. */
function physical(sensor: SensorType, value: number): number {
  const spec = SENSORS[sensor];
  const scale = 10 ** DECIMALS[sensor];
  return clamp(Math.round(value * scale) / scale, spec.min, spec.max);
}

/** 0 outside the episode, 1 on its plateau, with short ramps so values rise and fall. */
function episodeShape(episode: Episode, nowMs: number): number {
  if (nowMs < episode.startMs || nowMs >= episode.endMs) return 0;
  const rampMs = Math.min(15_000, (episode.endMs - episode.startMs) / 4);
  return Math.min(1, (nowMs - episode.startMs) / rampMs, (episode.endMs - nowMs) / rampMs);
}

export function createSiteModel(options: SiteModelOptions): SiteModel {
  const { siteId, zones, devicesPerZone, sensors, seed } = options;
  const random = seededRandom(seed);
  const perZone = devicesPerZone * sensors.length;
  const pairCount = zones.length * perZone;
  if (pairCount === 0) throw new RangeError('a site needs at least one zone, device and sensor');
  const anomalySensors = sensors.filter((s) => ANOMALY_EXCESS[s] && THRESHOLDS.has(s));
  // Episodes form a Poisson process: "probability p per minute" is rate -ln(1 - p) per minute.
  const episodesPerMs =
    anomalySensors.length === 0 ? 0 : -Math.log(1 - options.anomalyRate) / MINUTE_MS;
  const states: (ZoneState | undefined)[] = new Array<ZoneState | undefined>(zones.length);
  let next = 0;
  // What depends on the time alone, computed once per distinct time: a batch shares one.
  const clock = { ms: Number.NaN, office: 0, cycle: 0, iso: '' };
  const at = (nowMs: number) => {
    if (clock.ms !== nowMs) {
      clock.ms = nowMs;
      clock.office = officeLevel(nowMs);
      clock.cycle = dailyCycle(nowMs);
      clock.iso = new Date(nowMs).toISOString();
    }
    return clock;
  };

  const gapUntilEpisode = () =>
    episodesPerMs > 0 ? -Math.log(1 - random()) / episodesPerMs : Number.POSITIVE_INFINITY;

  function co2Target(zone: ZoneState, nowMs: number): number {
    return (
      OUTDOOR_CO2_PPM + zone.co2PerPerson * zone.capacity * officeLevel(nowMs) * zone.attendance
    );
  }

  function createZone(index: number, nowMs: number): ZoneState {
    const id = zones[index] ?? '';
    const trait = (n: number) => hashUnit(seed, index, 1_000_000 + n);
    const capacity = 8 + Math.floor(trait(1) * 13);
    const zone: ZoneState = {
      id,
      deviceIds: Array.from({ length: devicesPerZone }, (_, d) => deviceId(siteId, id, d)),
      capacity,
      co2PerPerson: (FULL_ZONE_CO2_PPM * (0.85 + 0.2 * trait(2))) / capacity,
      temperatureOffset: (trait(3) - 0.5) * 3,
      lastMs: nowMs,
      attendance: ATTENDANCE.mean,
      humidity: clamp(HUMIDITY.mean + HUMIDITY.sd * gaussian(random), HUMIDITY.min, HUMIDITY.max),
      co2: 0,
      episode: undefined,
      nextEpisodeMs: nowMs + gapUntilEpisode(),
    };
    zone.co2 = co2Target(zone, nowMs); // start in equilibrium, not with a jump
    return zone;
  }

  function advance(zone: ZoneState, nowMs: number): void {
    const dtMs = nowMs - zone.lastMs;
    if (dtMs >= STATE_STEP_MS) {
      zone.attendance = drift(zone.attendance, ATTENDANCE, dtMs, random);
      zone.humidity = drift(zone.humidity, HUMIDITY, dtMs, random);
      const target = co2Target(zone, nowMs);
      zone.co2 = target + (zone.co2 - target) * Math.exp(-dtMs / CO2_TAU_MS);
      zone.lastMs = nowMs;
    }
    while (zone.nextEpisodeMs <= nowMs) {
      const sensor = anomalySensors[Math.floor(random() * anomalySensors.length)] ?? 'co2';
      const [low, high] = ANOMALY_EXCESS[sensor] ?? [0, 0];
      const startMs = zone.nextEpisodeMs;
      const endMs = startMs + MINUTE_MS * (1 + random());
      const peak = Math.min(
        (THRESHOLDS.get(sensor) ?? 0) + low + (high - low) * random(),
        SENSORS[sensor].max,
      );
      zone.episode = { sensor, startMs, endMs, peak };
      zone.nextEpisodeMs = endMs + gapUntilEpisode();
    }
  }

  function normalValue(zone: ZoneState, sensor: SensorType, bias: number, nowMs: number): number {
    const { office, cycle } = at(nowMs);
    const level = office * zone.attendance;
    switch (sensor) {
      case 'occupancy': {
        const expected = zone.capacity * level;
        return expected < 0.5 ? 0 : Math.max(0, expected + 0.6 * gaussian(random));
      }
      case 'co2':
        return zone.co2 + 10 * bias + 4 * gaussian(random);
      case 'temperature':
        return (
          21 + zone.temperatureOffset + 2.5 * cycle + level + 0.25 * bias + 0.08 * gaussian(random)
        );
      case 'humidity':
        // Relative humidity falls as the air warms.
        return zone.humidity - 2 * cycle + bias + 0.3 * gaussian(random);
    }
  }

  function nextEvent(nowMs: number): TelemetryEvent {
    const pair = next;
    next = (next + 1) % pairCount;
    const zoneIndex = Math.floor(pair / perZone);
    const device = Math.floor((pair % perZone) / sensors.length);
    const sensorIndex = pair % sensors.length;
    const sensor = sensors[sensorIndex] ?? 'co2';
    let zone = states[zoneIndex];
    if (!zone) {
      zone = createZone(zoneIndex, nowMs);
      states[zoneIndex] = zone;
    }
    advance(zone, nowMs);
    // A fixed calibration error per device and sensor, in [-1, 1].
    const bias = 2 * hashUnit(seed, zoneIndex, device, sensorIndex) - 1;
    let value = normalValue(zone, sensor, bias, nowMs);
    const episode = zone.episode;
    if (episode?.sensor === sensor) {
      value += Math.max(0, episode.peak - value) * episodeShape(episode, nowMs);
    }
    return {
      // Random even with a seed (a restarted simulator must not repeat an event_id), and
      // time-ordered, at the reading's time.
      event_id: newEventId(nowMs),
      device_id: zone.deviceIds[device] ?? deviceId(siteId, zone.id, device),
      site_id: siteId,
      zone_id: zone.id,
      sensor_type: sensor,
      value: physical(sensor, value),
      ts_event: at(nowMs).iso,
    };
  }

  return { pairCount, nextEvent };
}
