import { Counter, Gauge, type Registry } from 'prom-client';
import type { SensorType } from '@telemetrypulse/shared';

export interface SimulatorMetrics {
  eventsProduced: Counter<'site_id' | 'sensor_type'>;
  sendErrors: Counter<'site_id'>;
  configuredRate: Gauge<'site_id'>;
  achievedRate: Gauge<'site_id'>;
}

/** The simulator's metrics on `registry`, with every series of the site present from the start. */
export function createSimulatorMetrics(
  registry: Registry,
  siteId: string,
  sensors: readonly SensorType[],
): SimulatorMetrics {
  const metrics: SimulatorMetrics = {
    eventsProduced: new Counter({
      name: 'telemetry_simulator_events_produced_total',
      help: 'Events acknowledged by Kafka',
      labelNames: ['site_id', 'sensor_type'],
      registers: [registry],
    }),
    sendErrors: new Counter({
      name: 'telemetry_simulator_send_errors_total',
      help: 'Failed producer sends (each is retried until the simulator stops)',
      labelNames: ['site_id'],
      registers: [registry],
    }),
    configuredRate: new Gauge({
      name: 'telemetry_simulator_configured_rate_events_per_second',
      help: 'Events per second the simulator is configured to produce',
      labelNames: ['site_id'],
      registers: [registry],
    }),
    achievedRate: new Gauge({
      name: 'telemetry_simulator_achieved_rate_events_per_second',
      help: 'Events per second acknowledged by Kafka over the last few seconds',
      labelNames: ['site_id'],
      registers: [registry],
    }),
  };
  // Zero-valued series let rate() and dashboards work before the first event.
  for (const sensor of sensors)
    metrics.eventsProduced.inc({ site_id: siteId, sensor_type: sensor }, 0);
  metrics.sendErrors.inc({ site_id: siteId }, 0);
  metrics.achievedRate.set({ site_id: siteId }, 0);
  return metrics;
}
