import { randomUUID } from 'node:crypto';
import {
  deviceId,
  HOUR_MS,
  newEventId,
  SENSOR_TYPES,
  SENSORS,
  type TelemetryEvent,
} from '@telemetrypulse/shared';

/**
 * Which ids the readings carry: the time-ordered ones our producers make (v7), or random ones
 * (v4), as a device that makes its own may send, which cost PostgreSQL more per event.
 */
export type EventIds = 'v7' | 'v4';

/** BENCH_EVENT_IDS: v7 (the default) or v4. */
export const BENCH_EVENT_IDS: EventIds = eventIdsFrom(process.env.BENCH_EVENT_IDS);

function eventIdsFrom(text: string | undefined): EventIds {
  if (text === undefined || text === '' || text === 'v7') return 'v7';
  if (text === 'v4') return 'v4';
  throw new Error(`BENCH_EVENT_IDS must be v7 or v4, not ${JSON.stringify(text)}`);
}

/**
 * Readings of 3 sites × 5 zones × 3 devices × 4 sensors spread evenly over the `spanMs` before
 * `now` (all at `now` when 0), each id made at its reading's time.
 */
export function syntheticEvents(
  count: number,
  now: number,
  { ids = BENCH_EVENT_IDS, spanMs = HOUR_MS }: { ids?: EventIds; spanMs?: number } = {},
): TelemetryEvent[] {
  const events: TelemetryEvent[] = [];
  for (let i = 0; i < count; i++) {
    const at = now - spanMs + Math.floor((i / count) * spanMs);
    const site = `site-0${(i % 3) + 1}`;
    const zone = `zone-0${(Math.floor(i / 3) % 5) + 1}`;
    const sensor = SENSOR_TYPES[Math.floor(i / 45) % 4] ?? 'co2';
    const [lo, hi] = SENSORS[sensor].normal;
    events.push({
      event_id: ids === 'v7' ? newEventId(at) : randomUUID(),
      device_id: deviceId(site, zone, Math.floor(i / 15) % 3),
      site_id: site,
      zone_id: zone,
      sensor_type: sensor,
      value:
        sensor === 'occupancy'
          ? i % 20
          : Math.round((lo + ((i * 7919) % 1000) * ((hi - lo) / 1000)) * 10) / 10,
      ts_event: new Date(at).toISOString(),
    });
  }
  return events;
}
