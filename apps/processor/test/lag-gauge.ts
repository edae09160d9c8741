import { Gauge, Registry } from 'prom-client';

/**
 * A consumer-lag gauge of its own, as the processor's metrics declare it, and its series read
 * back as an object keyed by "topic/partition", or by partition alone when one topic is tracked.
 */
export function lagGauge() {
  const gauge = new Gauge({
    name: 'lag',
    help: 'lag',
    labelNames: ['topic', 'partition'] as const,
    registers: [new Registry()],
  });
  const series = async (key: 'topic/partition' | 'partition' = 'topic/partition') =>
    Object.fromEntries(
      (await gauge.get()).values.map((v) => [
        key === 'partition'
          ? String(v.labels.partition)
          : `${v.labels.topic}/${v.labels.partition}`,
        v.value,
      ]),
    );
  return { gauge, series };
}
