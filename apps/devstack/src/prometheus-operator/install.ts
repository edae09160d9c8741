// `make prometheus-operator`: prometheus-operator on the running node, as a pod from the locally
// built image, with its own manifests (tools/crds.ts's pinned CRDs, example/rbac), and a
// Prometheus (v2.53.3 from its Go module: Debian's has no Kubernetes discovery) that it configures from the
// ServiceMonitors, PodMonitors and PrometheusRules carrying the chart's monitoring labels. Done
// when that Prometheus answers ready.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { importImages } from '../images/import.ts';
import { ensureNodeBinaries } from '../node/binaries.ts';
import { NODE_PATHS } from '../node/layout.ts';
import { readNodeStatus } from '../node/status.ts';
import { REPO_ROOT } from '../paths.ts';
import { waitFor } from '../ports.ts';
import { fetchCrds } from '../tools/crds.ts';
import { ensurePrometheusOperator } from '../tools/prometheus-operator.ts';
import { ensureOperatorImage, ensurePrometheusImage } from './images.ts';
import {
  chartMonitorLabels,
  MONITORING_NAMESPACE,
  OPERATOR_DEPLOYMENT,
  PROMETHEUS_NAME,
  prometheusOperatorManifests,
} from './manifests.ts';

const run = promisify(execFile);

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

export const CHART_VALUES = path.join(REPO_ROOT, 'charts', 'telemetrypulse', 'values.yaml');

export interface InstalledPrometheus {
  namespace: string;
  /** The Prometheus resource's name; its pod is prometheus-<name>-0. */
  name: string;
  pod: string;
  selectorLabels: Record<string, string>;
}

export async function installPrometheusOperator(
  log: (line: string) => void = console.log,
): Promise<InstalledPrometheus> {
  if (readNodeStatus()?.state !== 'ready') {
    throw new Error('no node is Ready: run `make cluster` first');
  }
  const started = Date.now();
  const operator = await ensurePrometheusOperator();
  const operatorImage = await ensureOperatorImage(log);
  const prometheusImage = await ensurePrometheusImage(log);
  await importImages([operatorImage.archive, prometheusImage.archive], {
    containerdAddress: NODE_PATHS.containerdSocket,
    log,
  });
  const crds = await fetchCrds();
  const { kubectl } = await ensureNodeBinaries();
  const env = { ...process.env, KUBECONFIG: NODE_PATHS.kubeconfig };
  const kube = async (args: string[], input?: string) => {
    try {
      const pending = run(kubectl, args, { env, timeout: 200_000, maxBuffer: 16 * 1024 * 1024 });
      if (input !== undefined) pending.child.stdin?.end(input);
      return (await pending).stdout;
    } catch (error) {
      const e = error as Error & { stderr?: string };
      throw new Error(`kubectl ${args.join(' ')} failed: ${e.stderr ?? e.message}`, {
        cause: error,
      });
    }
  };
  const diagnose = async (error: unknown): Promise<never> => {
    const pods = await kube(['-n', MONITORING_NAMESPACE, 'get', 'pods,events']).catch(() => '');
    const logs = await kube([
      '-n',
      MONITORING_NAMESPACE,
      'logs',
      `deployment/${OPERATOR_DEPLOYMENT}`,
      '--tail=40',
    ]).catch(() => '');
    throw new Error(`${(error as Error).message}\n${pods}\n${logs}`, { cause: error });
  };
  const selectorLabels = chartMonitorLabels(readFileSync(CHART_VALUES, 'utf8'));
  const objects = prometheusOperatorManifests(operator.moduleDir, crds.prometheusOperator.files, {
    operatorImage: operatorImage.name,
    prometheusImage: prometheusImage.name,
    prometheusVersion: prometheusImage.version,
    selectorLabels,
  });
  const prometheus = objects.pop();
  const apply = (items: unknown[]) =>
    kube(
      ['apply', '--server-side', '--force-conflicts', '--field-manager=telemetrypulse', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
    );
  // Server-side: the CRDs are too large for the client-side last-applied annotation.
  await apply(objects);
  await kube(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  await apply([prometheus]);
  log(
    `applied prometheus-operator ${operator.version}'s ${objects.length} objects and a Prometheus ` +
      `selecting ${JSON.stringify(selectorLabels)} in every namespace`,
  );
  await kube([
    '-n',
    MONITORING_NAMESPACE,
    'rollout',
    'status',
    `deployment/${OPERATOR_DEPLOYMENT}`,
    '--timeout=120s',
  ]).catch(diagnose);
  log(`prometheus-operator is Ready (${seconds(started)})`);
  const pod = `prometheus-${PROMETHEUS_NAME}-0`;
  // The operator makes the StatefulSet; the pod then needs its config written by the reloader.
  await waitFor(
    `Prometheus ${MONITORING_NAMESPACE}/${PROMETHEUS_NAME} to be Available`,
    async () => {
      const out = await kube([
        '-n',
        MONITORING_NAMESPACE,
        'get',
        'prometheus',
        PROMETHEUS_NAME,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Available")].status}',
      ]);
      return out.trim() === 'True';
    },
    240_000,
    2000,
  ).catch(diagnose);
  log(
    `Prometheus ${prometheusImage.version} runs as ${MONITORING_NAMESPACE}/${pod} (${seconds(started)} in all)`,
  );
  return { namespace: MONITORING_NAMESPACE, name: PROMETHEUS_NAME, pod, selectorLabels };
}
