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
} from '@telemetrypulse/shared';

export const ProcessorEnv = Type.Object({
  ...commonEnv,
  ...kafkaEnv,
  ...databaseEnv,
  ...opsEnv(9464),
  ...startupEnv,
  EVENTS_TOPIC: Type.String({ minLength: 1, default: TOPICS.events }),
  DLQ_TOPIC: Type.String({ minLength: 1, default: TOPICS.dlq }),
  ALERTS_TOPIC: Type.String({ minLength: 1, default: TOPICS.alerts }),
  // Site rule changes arrive by notification; this reload is the safety net behind it.
  SITE_RULES_REFRESH_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 60 }),
  // The zone, alert and last-event gauges are read from the database this often.
  BUILDING_METRICS_REFRESH_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 15 }),
  CONSUMER_GROUP: Type.String({ minLength: 1, default: PROCESSOR_GROUP }),
  PARTITIONS_CONCURRENTLY: Type.Integer({ minimum: 1, maximum: 64, default: 3 }),
  // How long the group waits for a silent replica (e.g. killed) before giving its partitions away.
  KAFKA_SESSION_TIMEOUT_MS: Type.Integer({ minimum: 6000, maximum: 300_000, default: 30_000 }),
  RAW_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
  // Aggregates outlive the raw rows: at least RAW_RETENTION_DAYS (checked by retentionPolicy).
  AGG_5M_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 36500, default: 90 }),
  AGG_15M_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 36500, default: 400 }),
  MAX_FUTURE_SECONDS: Type.Integer({ minimum: 0, default: 300 }),
  // Late events still update the window they belong to; this only decides what is counted late.
  LATE_AFTER_SECONDS: Type.Integer({ minimum: 1, default: 300 }),
  MAX_MESSAGE_BYTES: Type.Integer({ minimum: 256, maximum: 1_048_576, default: 16_384 }),
});
export type ProcessorConfig = Static<typeof ProcessorEnv>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ProcessorConfig {
  return readConfig(ProcessorEnv, env);
}
