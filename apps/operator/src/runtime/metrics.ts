import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const RECONCILE_RESULTS = ['success', 'error'] as const;

export interface OperatorMetrics {
  reconciles: Counter<'result'>;
  reconcileDuration: Histogram;
  queueDepth: Gauge;
  leader: Gauge;
}

export function createOperatorMetrics(registry: Registry): OperatorMetrics {
  const metrics: OperatorMetrics = {
    reconciles: new Counter({
      name: 'telemetry_operator_reconciles_total',
      help: 'Site reconciles by result (success, error)',
      labelNames: ['result'],
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'telemetry_operator_reconcile_duration_seconds',
      help: 'Time to reconcile one Site',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'telemetry_operator_workqueue_depth',
      help: 'Sites waiting in the work queue',
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'telemetry_operator_leader',
      help: '1 while this replica holds the leader Lease and reconciles, else 0',
      registers: [registry],
    }),
  };
  // Both results exported from the start: an error ratio reads 0, not "no data", until one fails.
  for (const result of RECONCILE_RESULTS) metrics.reconciles.inc({ result }, 0);
  return metrics;
}
