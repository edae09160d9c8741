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
const PARTITIONS: Readonly<Record<keyof typeof TOPICS, number>> = { events: 12, dlq: 3, alerts: 3 };

/** The topics to create, under the names configured (a deployment may rename them). */
export function topicSpecs(names: Partial<Record<keyof typeof TOPICS, string>> = {}): TopicSpec[] {
  return (Object.keys(TOPICS) as (keyof typeof TOPICS)[]).map((role) => ({
    topic: names[role] ?? TOPICS[role],
    numPartitions: PARTITIONS[role],
  }));
}
