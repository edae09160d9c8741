// prometheus-operator's own manifests (example/rbac of its Go module: the operator's Deployment,
// ServiceAccount, ClusterRole and binding; Prometheus's ServiceAccount, ClusterRole and binding),
// its CRDs (the pinned ones, tools/crds.ts), and one `Prometheus` that selects what the chart's
// `monitoring.labels` put on its ServiceMonitors, PodMonitors and PrometheusRule, in every
// namespace. What changes from upstream: the namespace (`monitoring`, the one the chart's
// NetworkPolicies let scrape), the locally built images (never pulled). Pure but for reading files.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

/** kube-prometheus-stack's namespace in k8s/README.md, and the chart's default `metricsFrom`. */
export const MONITORING_NAMESPACE = 'monitoring';
export const OPERATOR_DEPLOYMENT = 'prometheus-operator';
/** The `Prometheus` resource: the operator writes its config to the Secret prometheus-<name>. */
export const PROMETHEUS_NAME = 'telemetrypulse';
/** The Service the operator makes for every Prometheus (port `web`, 9090). */
export const PROMETHEUS_SERVICE = 'prometheus-operated';
export const PROMETHEUS_PORT = 9090;

/** The Secret holding the generated configuration, and its key (gzip-compressed YAML). */
export const CONFIG_SECRET = { name: `prometheus-${PROMETHEUS_NAME}`, key: 'prometheus.yaml.gz' };

const RELOADER_FLAG = '--prometheus-config-reloader=';

function readDocuments(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((doc): doc is KubeObject => doc !== null);
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => path.join(dir, f));
}

/** The labels the chart puts on its monitors and rules (`monitoring.labels` of values.yaml). */
export function chartMonitorLabels(valuesYaml: string): Record<string, string> {
  const values = parse(valuesYaml) as { monitoring?: { labels?: Record<string, string> } };
  const labels = values.monitoring?.labels ?? {};
  if (Object.keys(labels).length === 0) {
    throw new Error('the chart puts no monitoring.labels on its monitors: nothing to select');
  }
  return labels;
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

interface Container {
  name: string;
  image?: string;
  imagePullPolicy?: string;
  args?: string[];
}

/** Moves a namespaced object and the ServiceAccounts a binding names into `namespace`. */
function inNamespace(object: KubeObject, namespace: string): KubeObject {
  const clusterScoped = ['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition'];
  if (!clusterScoped.includes(object.kind)) object.metadata.namespace = namespace;
  const subjects = object.subjects as Subject[] | undefined;
  for (const subject of subjects ?? []) {
    if (subject.kind === 'ServiceAccount') subject.namespace = namespace;
  }
  return object;
}

export interface PrometheusSpec {
  /** The local image holding /bin/operator and /bin/prometheus-config-reloader. */
  operatorImage: string;
  prometheusImage: string;
  /** Prometheus’s own version ("v2.53.3"): the operator writes only what that version reads. */
  prometheusVersion: string;
  /** What the Prometheus selects monitors and rules by. */
  selectorLabels: Record<string, string>;
}

/** The `Prometheus`: one replica, every namespace's monitors and rules with the chart's labels. */
export function prometheusResource(spec: PrometheusSpec): KubeObject {
  const selector = { matchLabels: spec.selectorLabels };
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'Prometheus',
    metadata: { name: PROMETHEUS_NAME, namespace: MONITORING_NAMESPACE },
    spec: {
      version: spec.prometheusVersion,
      image: spec.prometheusImage,
      imagePullPolicy: 'IfNotPresent',
      replicas: 1,
      serviceAccountName: 'prometheus',
      serviceMonitorSelector: selector,
      serviceMonitorNamespaceSelector: {},
      podMonitorSelector: selector,
      podMonitorNamespaceSelector: {},
      ruleSelector: selector,
      ruleNamespaceSelector: {},
      evaluationInterval: '15s',
      resources: { requests: { cpu: '50m', memory: '200Mi' } },
    },
  };
}

/**
 * Every object to apply, in an order that works on an empty cluster (CRDs and the namespace
 * first, the Prometheus last).
 */
export function prometheusOperatorManifests(
  moduleDir: string,
  crdFiles: readonly string[],
  spec: PrometheusSpec,
): KubeObject[] {
  const rbac = path.join(moduleDir, 'example', 'rbac');
  const objects: KubeObject[] = crdFiles.flatMap(readDocuments);
  objects.push({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: MONITORING_NAMESPACE },
  });
  const operatorFiles = yamlFiles(path.join(rbac, 'prometheus-operator')).filter(
    // Its ServiceMonitor has the operator scraped by a Prometheus that selects it: not needed.
    (f) => !f.endsWith('service-monitor.yaml'),
  );
  for (const object of operatorFiles.flatMap(readDocuments)) {
    if (object.kind === 'Deployment') {
      const containers = (object.spec as { template: { spec: { containers: Container[] } } })
        .template.spec.containers;
      for (const container of containers) {
        if (container.name !== OPERATOR_DEPLOYMENT) continue;
        container.image = spec.operatorImage;
        container.imagePullPolicy = 'IfNotPresent';
        const args = container.args ?? [];
        if (!args.some((a) => a.startsWith(RELOADER_FLAG))) {
          throw new Error(`the operator's Deployment has no ${RELOADER_FLAG} argument`);
        }
        container.args = args.map((a) =>
          a.startsWith(RELOADER_FLAG) ? `${RELOADER_FLAG}${spec.operatorImage}` : a,
        );
      }
    }
    objects.push(inNamespace(object, MONITORING_NAMESPACE));
  }
  for (const file of yamlFiles(path.join(rbac, 'prometheus'))) {
    // prometheus.yaml is upstream's example Prometheus; ours is prometheusResource().
    if (path.basename(file) === 'prometheus.yaml') continue;
    for (const object of readDocuments(file))
      objects.push(inNamespace(object, MONITORING_NAMESPACE));
  }
  const names = new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
  for (const needed of [
    `Deployment/${OPERATOR_DEPLOYMENT}`,
    'ServiceAccount/prometheus',
    'ClusterRoleBinding/prometheus',
    'CustomResourceDefinition/prometheuses.monitoring.coreos.com',
    'CustomResourceDefinition/servicemonitors.monitoring.coreos.com',
    'CustomResourceDefinition/podmonitors.monitoring.coreos.com',
    'CustomResourceDefinition/prometheusrules.monitoring.coreos.com',
  ]) {
    if (!names.has(needed)) throw new Error(`prometheus-operator's manifests have no ${needed}`);
  }
  objects.push(prometheusResource(spec));
  return objects;
}
