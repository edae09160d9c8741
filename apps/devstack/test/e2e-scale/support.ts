// What the autoscaling tests share: a Deployment's replica count, a Site's rate changed the way a
// user changes it (and waited for until the simulator runs at it), and the replica timeline each
// run prints.
import { waitFor } from '../../src/ports.ts';
import type { NodeTools } from '../e2e/support.ts';

export interface Replicas {
  /** What the Deployment asks for (the HPA sets it), and what runs Ready. */
  replicas: number;
  ready: number;
}

export async function deploymentReplicas(
  tools: NodeTools,
  namespace: string,
  name: string,
): Promise<Replicas> {
  const deployment = JSON.parse(
    await tools.kubectl(['-n', namespace, 'get', 'deployment', name, '-o', 'json']),
  ) as { spec?: { replicas?: number }; status?: { readyReplicas?: number } };
  return {
    replicas: deployment.spec?.replicas ?? 0,
    ready: deployment.status?.readyReplicas ?? 0,
  };
}

/** Patches the Site's eventsPerSecond; resolves once its simulator runs Ready at that rate. */
export async function setSiteRate(
  tools: NodeTools,
  namespace: string,
  site: string,
  eventsPerSecond: number,
): Promise<void> {
  await tools.kubectl([
    '-n',
    namespace,
    'patch',
    'site',
    site,
    '--type=merge',
    '-p',
    JSON.stringify({ spec: { eventsPerSecond } }),
  ]);
  // The operator rolls the simulator to the new rate.
  await waitFor(
    `sim-${site} to run at ${eventsPerSecond} events/s`,
    async () => {
      const deployment = JSON.parse(
        await tools.kubectl(['-n', namespace, 'get', 'deployment', `sim-${site}`, '-o', 'json']),
      ) as {
        metadata: { generation?: number };
        spec: {
          template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } };
        };
        status?: {
          observedGeneration?: number;
          replicas?: number;
          updatedReplicas?: number;
          readyReplicas?: number;
        };
      };
      const env = deployment.spec.template.spec.containers[0]?.env ?? [];
      const rate = env.find((e) => e.name === 'EVENTS_PER_SECOND')?.value;
      const status = deployment.status ?? {};
      return (
        rate === String(eventsPerSecond) &&
        status.observedGeneration === deployment.metadata.generation &&
        status.updatedReplicas === status.replicas &&
        (status.readyReplicas ?? 0) >= 1
      );
    },
    3 * 60_000,
    1000,
  );
}

export interface Sample extends Replicas {
  at: number;
  phase: string;
  /** What the HPA last read of its metric (lag per replica, or CPU share of the request). */
  metric: string;
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

/** The samples where something changed, as lines of a table. */
export function replicaTimeline(
  samples: readonly Sample[],
  start: number,
  metricName: string,
): string[] {
  const lines: string[] = [];
  let last = '';
  for (const sample of samples) {
    const key = `${sample.phase}|${sample.replicas}|${sample.ready}`;
    if (key === last) continue;
    last = key;
    lines.push(
      `${seconds(sample.at - start).padStart(6)}  replicas ${sample.replicas}  ready ${sample.ready}  ${metricName} ${sample.metric}  (${sample.phase})`,
    );
  }
  return lines;
}
