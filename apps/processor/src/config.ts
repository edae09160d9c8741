import { Type, type Static } from '@sinclair/typebox';
import {
  commonEnv,
  databaseEnv,
  kafkaEnv,
  opsEnv,
  PROCESSOR_GROUP,
  readConfig,
  startupEnv,
  TOPICS,
  windowOf,
} from '@telemetrypulse/shared';

export const ProcessorEnv = Type.Object({
  ...commonEnv,
  ...kafkaEnv,
  ...databaseEnv,
  ...opsEnv(9464),
  ...startupEnv,
  EVENTS_TOPIC: Type.String({
    minLength: 1,
    default: TOPICS.events,
    description: 'Kafka topic the events are read from',
  }),
  DLQ_TOPIC: Type.String({
    minLength: 1,
    default: TOPICS.dlq,
    description: 'dead-letter topic: invalid messages go there with the reason',
  }),
  ALERTS_TOPIC: Type.String({
    minLength: 1,
    default: TOPICS.alerts,
    description: 'topic every alert open and resolve is published to (transactional outbox)',
  }),
  // Site rule changes arrive by notification; this reload is the safety net behind it.
  SITE_RULES_REFRESH_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 86_400,
    default: 60,
    description:
      'how often the per-site alert rules are reloaded from the sites registry, besides on its notification',
  }),
  BUILDING_METRICS_REFRESH_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 3600,
    default: 15,
    description: 'how often the zone, open-alert and last-event gauges are read from the database',
  }),
  CONSUMER_GROUP: Type.String({
    minLength: 1,
    default: PROCESSOR_GROUP,
    description: 'Kafka consumer group the processor replicas share',
  }),
  PARTITIONS_CONCURRENTLY: Type.Integer({
    minimum: 1,
    maximum: 64,
    default: 3,
    description: "how many of its partitions' batches one replica stores at once",
  }),
  STORE_TRANSACTIONS_IN_FLIGHT: Type.Integer({
    minimum: 1,
    maximum: 8,
    default: 2,
    description:
      'store transactions the consumer group keeps in flight at once, shared among its replicas (each keeps at least one), over distinct partitions; offsets commit after theirs, in order',
  }),
  KAFKA_SESSION_TIMEOUT_MS: Type.Integer({
    minimum: 6000,
    maximum: 300_000,
    default: 30_000,
    description:
      'how long the group waits for a silent replica (e.g. killed) before giving its partitions away',
  }),
  RAW_RETENTION_DAYS: Type.Integer({
    minimum: 1,
    maximum: 3650,
    default: 30,
    description: 'raw event partitions older than this are dropped; older events go to the DLQ',
  }),
  // Aggregates outlive the raw rows: at least RAW_RETENTION_DAYS (checked by retentionPolicy).
  [windowOf('5m').retentionSetting]: Type.Integer({
    minimum: 1,
    maximum: 36500,
    default: 90,
    description: '5-minute aggregate rows older than this are deleted; at least RAW_RETENTION_DAYS',
  }),
  [windowOf('15m').retentionSetting]: Type.Integer({
    minimum: 1,
    maximum: 36500,
    default: 400,
    description:
      '15-minute aggregate rows older than this are deleted; at least RAW_RETENTION_DAYS',
  }),
  MAX_FUTURE_SECONDS: Type.Integer({
    minimum: 0,
    default: 300,
    description: 'events timed further ahead of the clock than this go to the DLQ',
  }),
  LATE_AFTER_SECONDS: Type.Integer({
    minimum: 1,
    default: 300,
    description:
      'events older than this on arrival are counted late (telemetry_processor_events_late_total); they still update their window',
  }),
  // A letter grows up to ~7.4 times this for bytes that are not UTF-8 (escaped text plus
  // base64): keep it well below the broker's message.max.bytes.
  DLQ_MAX_PAYLOAD_BYTES: Type.Integer({
    minimum: 256,
    maximum: 1_048_576,
    default: 65_536,
    description:
      "a dead letter carries at most this much of the original; a longer one's letter holds its start, size and SHA-256 (truncated, not replayable)",
  }),
  STUCK_AFTER_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 86_400,
    default: 300,
    description:
      'a store or dead-letter write failing for this long counts as stuck (telemetry_processor_stuck, an error log)',
  }),
  HEAP_GROWING_PERCENT: Type.Integer({
    minimum: 0,
    maximum: 400,
    default: 100,
    description:
      "how far the JavaScript heap may grow past what the last full garbage collection kept before the next one, in per cent (0: V8's choice, which under a small memory limit collects far more often)",
  }),
  MAX_MESSAGE_BYTES: Type.Integer({
    minimum: 256,
    maximum: 1_048_576,
    default: 16_384,
    description: 'larger messages go to the DLQ unparsed',
  }),
});
export type ProcessorConfig = Static<typeof ProcessorEnv>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ProcessorConfig {
  return readConfig(ProcessorEnv, env);
}
