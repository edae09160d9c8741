import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ProcessorMetrics {
  consumed: Counter;
  stored: Counter;
  duplicates: Counter;
  invalid: Counter<'reason'>;
  deadLetters: Counter<'reason'>;
  deadLettersReduced: Counter<'how'>;
  deadLettersLost: Counter;
  batchSeconds: Histogram;
  transactionSeconds: Histogram;
  consumerLag: Gauge<'topic' | 'partition'>;
  batchSize: Histogram;
  storeRetries: Counter;
  storeTransactionsLimit: Gauge;
  late: Counter;
  eventToStoredSeconds: Histogram;
  alerts: Counter<'alert_type' | 'transition'>;
}

export function createProcessorMetrics(registry: Registry): ProcessorMetrics {
  const registers = [registry];
  return {
    consumed: new Counter({
      name: 'telemetry_processor_events_consumed_total',
      help: 'Messages read from the events topic',
      registers,
    }),
    stored: new Counter({
      name: 'telemetry_processor_events_stored_total',
      help: 'Valid events newly stored (first delivery)',
      registers,
    }),
    duplicates: new Counter({
      name: 'telemetry_processor_events_duplicate_total',
      help: 'Valid events already stored (redelivery or repeated event_id)',
      registers,
    }),
    invalid: new Counter({
      name: 'telemetry_processor_events_invalid_total',
      help: 'Messages rejected by validation, by reason',
      labelNames: ['reason'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'telemetry_processor_dlq_messages_total',
      help: 'Messages written to the dead-letter topic, by reason (as the invalid events)',
      labelNames: ['reason'],
      registers,
    }),
    deadLettersReduced: new Counter({
      name: 'telemetry_processor_dlq_reduced_total',
      help: 'Dead letters that carry less than the whole original: truncated (cut to DLQ_MAX_PAYLOAD_BYTES) or payload_dropped (the broker refused the letter with it)',
      labelNames: ['how'],
      registers,
    }),
    deadLettersLost: new Counter({
      name: 'telemetry_processor_dlq_lost_total',
      help: 'Messages the broker refused to dead-letter even without their payload: logged, and passed over',
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'telemetry_processor_batch_duration_seconds',
      help: 'Time to process one batch, from decode to offset commit',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    transactionSeconds: new Histogram({
      name: 'telemetry_processor_db_transaction_duration_seconds',
      help: 'Time of one committed database transaction storing a group of batches',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    consumerLag: new Gauge({
      name: 'telemetry_processor_consumer_lag_messages',
      help: 'Messages behind the end of each partition this replica owns (0 when caught up)',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    batchSize: new Histogram({
      name: 'telemetry_processor_batch_size_events',
      help: 'Messages per processed batch',
      buckets: [1, 10, 50, 100, 500, 1000, 5000, 10000],
      registers,
    }),
    eventToStoredSeconds: new Histogram({
      name: 'telemetry_processor_event_to_stored_seconds',
      help: 'From event time to the commit that stored the event (includes producer clock skew)',
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300],
      registers,
    }),
    late: new Counter({
      name: 'telemetry_processor_events_late_total',
      help: 'Stored events that arrived later than LATE_AFTER_SECONDS after their event time',
      registers,
    }),
    storeRetries: new Counter({
      name: 'telemetry_processor_store_retries_total',
      help: 'Batch transactions retried after a database error',
      registers,
    }),
    storeTransactionsLimit: new Gauge({
      name: 'telemetry_processor_store_transactions_limit',
      help: "Store transactions this replica keeps in flight at most: its share of the group's STORE_TRANSACTIONS_IN_FLIGHT",
      registers,
    }),
    alerts: new Counter({
      name: 'telemetry_processor_alerts_total',
      help: 'Alert transitions, by type and transition (opened, resolved)',
      labelNames: ['alert_type', 'transition'],
      registers,
    }),
  };
}

/** A reason text reduced to a low-cardinality label. */
export function reasonLabel(reason: string): string {
  if (reason.startsWith('database refused')) return 'db_refused';
  if (reason.startsWith('malformed JSON')) return 'malformed_json';
  if (reason.startsWith('missing field')) return 'missing_field';
  if (reason.includes('out of range') || reason.includes('whole number')) return 'out_of_range';
  if (reason.startsWith('ts_event')) return 'bad_event_time';
  if (reason.includes('UTF-8')) return 'not_utf8';
  if (reason.includes('exceeds')) return 'too_large';
  if (reason.startsWith('sensor_type')) return 'unknown_sensor';
  return 'invalid_field';
}
