/** Kafka names shared by producers and consumers; clients of the original depend on them. */
export const TOPICS = {
  events: 'telemetry.events',
  dlq: 'telemetry.dlq',
  alerts: 'telemetry.alerts',
} as const;

export const PROCESSOR_GROUP = 'telemetry-processor-group';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
}

/** Events get enough partitions for the processor to scale out to 12 replicas. */
export const TOPIC_SPECS: readonly TopicSpec[] = [
  { topic: TOPICS.events, numPartitions: 12 },
  { topic: TOPICS.dlq, numPartitions: 3 },
  { topic: TOPICS.alerts, numPartitions: 3 },
];
