// What the operator made of the chart's monitors: the scrape jobs of the configuration it writes
// (gzip-compressed YAML in the Secret prometheus-<name>), next to what the chart's ServiceMonitors
// and PodMonitors declare. Pure: the e2e test feeds it the Secret and `helm get manifest`.
import { gunzipSync } from 'node:zlib';
import { parse, parseAllDocuments } from 'yaml';

export interface RelabelConfig {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  action?: string;
}

export interface ScrapeJob {
  job_name: string;
  metrics_path?: string;
  scrape_interval?: string;
  kubernetes_sd_configs?: { role: string; namespaces?: { names?: string[] } }[];
  relabel_configs?: RelabelConfig[];
}

export interface GeneratedConfig {
  scrape_configs?: ScrapeJob[];
  rule_files?: string[];
}

/** The configuration in the Secret's data (base64 of gzip of YAML, as the API returns it). */
export function generatedConfig(base64Gzip: string): GeneratedConfig {
  return parse(gunzipSync(Buffer.from(base64Gzip, 'base64')).toString('utf8')) as GeneratedConfig;
}

export interface Monitor {
  kind: 'ServiceMonitor' | 'PodMonitor';
  metadata: { name: string; namespace?: string };
  spec: {
    selector?: { matchLabels?: Record<string, string> };
    namespaceSelector?: { any?: boolean; matchNames?: string[] };
    endpoints?: { port?: string; path?: string; interval?: string }[];
    podMetricsEndpoints?: { port?: string; path?: string; interval?: string }[];
  };
}

/** The ServiceMonitors and PodMonitors in a rendered manifest (`helm get manifest`). */
export function monitorsIn(manifest: string, namespace: string): Monitor[] {
  return parseAllDocuments(manifest)
    .map((doc) => doc.toJS() as Partial<Monitor> | null)
    .filter((o): o is Monitor => o?.kind === 'ServiceMonitor' || o?.kind === 'PodMonitor')
    .map((o) => ({
      ...o,
      metadata: { ...o.metadata, namespace: o.metadata.namespace ?? namespace },
    }));
}

function endpointsOf(monitor: Monitor) {
  return (
    (monitor.kind === 'ServiceMonitor'
      ? monitor.spec.endpoints
      : monitor.spec.podMetricsEndpoints) ?? []
  );
}

/** The operator's job name for a monitor's endpoint: serviceMonitor/<ns>/<name>/<index>. */
export function jobName(monitor: Monitor, index: number): string {
  const kind = monitor.kind === 'ServiceMonitor' ? 'serviceMonitor' : 'podMonitor';
  return `${kind}/${monitor.metadata.namespace ?? ''}/${monitor.metadata.name}/${index}`;
}

/** Every job the monitors should become. */
export function expectedJobs(monitors: readonly Monitor[]): string[] {
  return monitors.flatMap((m) => endpointsOf(m).map((_, i) => jobName(m, i))).sort();
}

/** Prometheus's label-name sanitising of Kubernetes labels (`app.kubernetes.io/name` → …_name). */
function sanitize(label: string): string {
  return label.replace(/[^a-zA-Z0-9_]/g, '_');
}

/**
 * How a generated job departs from the monitor endpoint it was made from: its scrape path and
 * interval, the namespaces it discovers in, and a `keep` relabelling for each label of the
 * monitor's selector. Empty when they agree.
 */
export function jobDisagreements(job: ScrapeJob, monitor: Monitor, index: number): string[] {
  const problems: string[] = [];
  const endpoint = endpointsOf(monitor)[index];
  if (!endpoint) return [`${job.job_name}: the monitor has no endpoint ${index}`];
  if ((job.metrics_path ?? '/metrics') !== (endpoint.path ?? '/metrics')) {
    problems.push(`metrics_path ${job.metrics_path ?? '-'} is not ${endpoint.path ?? '/metrics'}`);
  }
  if (endpoint.interval && job.scrape_interval !== endpoint.interval) {
    problems.push(`scrape_interval ${job.scrape_interval ?? '-'} is not ${endpoint.interval}`);
  }
  const sd = job.kubernetes_sd_configs ?? [];
  const ns = monitor.spec.namespaceSelector;
  const wanted = ns?.any ? undefined : (ns?.matchNames ?? [monitor.metadata.namespace ?? '']);
  for (const config of sd) {
    const names = config.namespaces?.names;
    if (JSON.stringify(names?.slice().sort()) !== JSON.stringify(wanted?.slice().sort())) {
      problems.push(
        `discovers in namespaces ${JSON.stringify(names ?? 'all')}, not ${JSON.stringify(wanted ?? 'all')}`,
      );
    }
  }
  if (sd.length === 0) problems.push('has no kubernetes_sd_configs');
  const object = monitor.kind === 'ServiceMonitor' ? 'service' : 'pod';
  for (const [label, value] of Object.entries(monitor.spec.selector?.matchLabels ?? {})) {
    const source = `__meta_kubernetes_${object}_label_${sanitize(label)}`;
    const keeps = (job.relabel_configs ?? []).some((r) => {
      if (r.action?.toLowerCase() !== 'keep' || r.source_labels?.[0] !== source) return false;
      // The value the keep rule sees for a target that has the label (and the label is present).
      const seen = r.source_labels
        .map((_, i) => (i === 0 ? value : 'true'))
        .join(r.separator ?? ';');
      return new RegExp(`^(?:${r.regex ?? '(.*)'})$`).test(seen);
    });
    if (!keeps) problems.push(`keeps no target by ${label}=${value} (${source})`);
  }
  return problems.map((p) => `${job.job_name}: ${p}`);
}
