import { Gauge, type Registry } from 'prom-client';
import {
  isSensorType,
  windowOf,
  type Logger,
  type SensorType,
  type Sql,
} from '@telemetrypulse/shared';
import type { RuleBook } from '../alerts/rules.ts';

/** Zones whose newest window is older than this drop out of the zone gauges. */
const RECENT_MINUTES = 15;
/** Bounds on the series: far above a real estate of buildings, far below a scrape's limits. */
const MAX_SITES = 1_000;
const MAX_ZONE_SENSORS = 40_000;

export interface ZoneReading {
  site_id: string;
  zone_id: string;
  sensor_type: string;
  avg_value: number;
}

export interface OpenAlertCount {
  site_id: string;
  alert_type: string;
  open: number;
}

export interface SiteActivity {
  site_id: string;
  /** Seconds since the epoch of the newest stored event; null before the first. */
  last_event: number | null;
}

export interface BuildingState {
  zones: readonly ZoneReading[];
  openAlerts: readonly OpenAlertCount[];
  sites: readonly SiteActivity[];
}

export interface Sample<L extends string> {
  labels: Record<L, string>;
  value: number;
}

export interface BuildingSamples {
  zones: Record<SensorType, Sample<'site_id' | 'zone_id'>[]>;
  alertsOpen: Sample<'site_id' | 'alert_type'>[];
  lastEvent: Sample<'site_id'>[];
}

/**
 * What the building gauges show: each zone's newest window average per sensor, the open and
 * acknowledged incidents of every registered site by alert type (0 for each type its rules can
 * raise), and each site's newest event time.
 */
export function buildingSamples(state: BuildingState, rules: RuleBook): BuildingSamples {
  const zones: BuildingSamples['zones'] = { co2: [], temperature: [], humidity: [], occupancy: [] };
  for (const z of state.zones) {
    if (!isSensorType(z.sensor_type)) continue;
    zones[z.sensor_type].push({
      labels: { site_id: z.site_id, zone_id: z.zone_id },
      value: z.avg_value,
    });
  }
  const open = new Map<string, Map<string, number>>();
  for (const site of state.sites) {
    const types = new Map<string, number>();
    for (const rule of rules.forSite(site.site_id).values()) types.set(rule.alertType, 0);
    open.set(site.site_id, types);
  }
  for (const a of state.openAlerts) {
    // Incidents of a site no longer registered are left out: the sites bound the series.
    open.get(a.site_id)?.set(a.alert_type, a.open);
  }
  const alertsOpen = [...open].flatMap(([siteId, types]) =>
    [...types].map(([alertType, value]) => ({
      labels: { site_id: siteId, alert_type: alertType },
      value,
    })),
  );
  const lastEvent = state.sites.flatMap((s) =>
    s.last_event === null ? [] : [{ labels: { site_id: s.site_id }, value: s.last_event }],
  );
  return { zones, alertsOpen, lastEvent };
}

/** The building state, read in one snapshot so the gauges agree with each other. */
export async function readBuildingState(sql: Sql): Promise<BuildingState> {
  return sql.begin('isolation level repeatable read read only', async (tx) => {
    const zones = await tx<ZoneReading[]>`
      select distinct on (site_id, zone_id, sensor_type)
             site_id, zone_id, sensor_type, avg_value
      from ${tx(windowOf('5m').table)}
      where window_start >= now() - make_interval(mins => ${RECENT_MINUTES})
        and window_start <= now()
      order by site_id, zone_id, sensor_type, window_start desc
      limit ${MAX_ZONE_SENSORS}`;
    const sites = await tx<SiteActivity[]>`
      select site_id, extract(epoch from last_event_at)::float8 as last_event
      from sites order by site_id limit ${MAX_SITES}`;
    const openAlerts = await tx<OpenAlertCount[]>`
      select site_id, alert_type, count(*)::int as open
      from telemetry_alerts where status in ('open', 'acknowledged')
      group by site_id, alert_type`;
    return { zones, sites, openAlerts };
  });
}

export interface BuildingGaugesOptions {
  sql: Sql;
  registry: Registry;
  rules: RuleBook;
  logger: Logger;
  refreshMs: number;
}

export interface BuildingGauges {
  /** Reads the database and replaces every gauge's series. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

const ZONE_GAUGES: Record<SensorType, { name: string; help: string }> = {
  co2: { name: 'telemetry_zone_co2_ppm', help: 'CO2 of the zone (newest 5-minute average)' },
  temperature: {
    name: 'telemetry_zone_temperature_celsius',
    help: 'Temperature of the zone (newest 5-minute average)',
  },
  humidity: {
    name: 'telemetry_zone_humidity_percent',
    help: 'Relative humidity of the zone (newest 5-minute average)',
  },
  occupancy: {
    name: 'telemetry_zone_occupancy',
    help: 'People in the zone (newest 5-minute average)',
  },
};

function fill<L extends string>(gauge: Gauge<L>, samples: readonly Sample<L>[]): void {
  gauge.reset();
  for (const s of samples) gauge.set(s.labels as Partial<Record<L, string>>, s.value);
}

/**
 * Building gauges from PostgreSQL, refreshed every `refreshMs` rather than at each scrape so the
 * database sees a steady, small load. Every replica exports the same values (dashboards take
 * `max by`). A failed read keeps the last values.
 */
export function startBuildingGauges(options: BuildingGaugesOptions): BuildingGauges {
  const { sql, rules, logger } = options;
  const registers = [options.registry];
  const zoneGauges = Object.fromEntries(
    Object.entries(ZONE_GAUGES).map(([sensor, g]) => [
      sensor,
      new Gauge({ ...g, labelNames: ['site_id', 'zone_id'] as const, registers }),
    ]),
  ) as Record<SensorType, Gauge<'site_id' | 'zone_id'>>;
  const alertsOpen = new Gauge({
    name: 'telemetry_site_alerts_open',
    help: 'Open and acknowledged incidents of the site, by alert type',
    labelNames: ['site_id', 'alert_type'] as const,
    registers,
  });
  const lastEvent = new Gauge({
    name: 'telemetry_site_last_event_timestamp_seconds',
    help: 'Event time of the newest stored event of the site',
    labelNames: ['site_id'] as const,
    registers,
  });

  let refreshing: Promise<void> | undefined;
  const readAndFill = async () => {
    try {
      const samples = buildingSamples(await readBuildingState(sql), rules);
      // Reset and refill in one synchronous step: a scrape never sees a half-filled gauge.
      for (const sensor of Object.keys(zoneGauges) as SensorType[]) {
        fill(zoneGauges[sensor], samples.zones[sensor]);
      }
      fill(alertsOpen, samples.alertsOpen);
      fill(lastEvent, samples.lastEvent);
    } catch (error) {
      logger.warn({ err: error }, 'could not refresh the building gauges');
    }
  };
  const refresh = (): Promise<void> => {
    refreshing ??= readAndFill().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };
  void refresh();
  const timer = setInterval(() => void refresh(), options.refreshMs);
  timer.unref();

  return {
    refresh,
    async stop() {
      clearInterval(timer);
      await refreshing;
    },
  };
}
