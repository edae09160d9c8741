import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../../src/paths.ts';
import { chartMonitorLabels, prometheusResource } from '../../src/prometheus-operator/manifests.ts';
import { prometheusRelease, publishedReplaceLines } from '../../src/tools/prometheus-server.ts';
import {
  expectedJobs,
  generatedConfig,
  jobDisagreements,
  monitorsIn,
  type ScrapeJob,
} from '../../src/prometheus-operator/scrape-config.ts';

const MANIFEST = `
apiVersion: v1
kind: Service
metadata: { name: rel-telemetrypulse-api }
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: { name: rel-telemetrypulse-api }
spec:
  selector: { matchLabels: { app.kubernetes.io/component: api } }
  endpoints: [{ port: http, path: /metrics, interval: 5s }]
---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: { name: rel-telemetrypulse-simulators }
spec:
  namespaceSelector: { any: true }
  selector: { matchLabels: { app.kubernetes.io/component: simulator } }
  podMetricsEndpoints: [{ port: metrics, path: /metrics, interval: 5s }]
`;

/** A job shaped like the operator's for the ServiceMonitor above. */
const API_JOB: ScrapeJob = {
  job_name: 'serviceMonitor/ns/rel-telemetrypulse-api/0',
  metrics_path: '/metrics',
  scrape_interval: '5s',
  kubernetes_sd_configs: [{ role: 'endpoints', namespaces: { names: ['ns'] } }],
  relabel_configs: [
    {
      source_labels: [
        '__meta_kubernetes_service_label_app_kubernetes_io_component',
        '__meta_kubernetes_service_labelpresent_app_kubernetes_io_component',
      ],
      regex: '(api);true',
      action: 'keep',
    },
  ],
};

describe('prometheus-operator: the chart’s monitors and the generated scrape jobs', () => {
  const [api, simulators] = monitorsIn(MANIFEST, 'ns');

  it('when the chart renders monitors, then each endpoint is one job named as the operator names it', () => {
    assert.deepEqual(expectedJobs(monitorsIn(MANIFEST, 'ns')), [
      'podMonitor/ns/rel-telemetrypulse-simulators/0',
      'serviceMonitor/ns/rel-telemetrypulse-api/0',
    ]);
  });

  it('when a job keeps the selector’s labels in the monitor’s namespace, then they agree', () => {
    assert.ok(api);
    assert.deepEqual(jobDisagreements(API_JOB, api, 0), []);
  });

  it('when a job selects another value, another namespace or interval, then each is reported', () => {
    assert.ok(api);
    const wrong: ScrapeJob = {
      ...API_JOB,
      scrape_interval: '30s',
      kubernetes_sd_configs: [{ role: 'endpoints' }],
      relabel_configs: [{ ...API_JOB.relabel_configs?.[0], regex: '(processor);true' }],
    };
    const problems = jobDisagreements(wrong, api, 0);
    assert.equal(problems.length, 3, problems.join('\n'));
  });

  it('when a PodMonitor selects any namespace, then a job restricted to one does not agree', () => {
    assert.ok(simulators);
    const job: ScrapeJob = {
      job_name: 'podMonitor/ns/rel-telemetrypulse-simulators/0',
      metrics_path: '/metrics',
      scrape_interval: '5s',
      kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: ['ns'] } }],
      relabel_configs: [
        {
          source_labels: [
            '__meta_kubernetes_pod_label_app_kubernetes_io_component',
            '__meta_kubernetes_pod_labelpresent_app_kubernetes_io_component',
          ],
          regex: '(simulator);true',
          action: 'keep',
        },
      ],
    };
    assert.equal(jobDisagreements(job, simulators, 0).length, 1);
    assert.deepEqual(
      jobDisagreements({ ...job, kubernetes_sd_configs: [{ role: 'pod' }] }, simulators, 0),
      [],
    );
  });

  it('when the Secret holds gzip-compressed YAML, then its jobs are read back', () => {
    const data = gzipSync(stringify({ scrape_configs: [API_JOB] })).toString('base64');
    assert.deepEqual(generatedConfig(data).scrape_configs?.[0], API_JOB);
  });

  it('then the Prometheus selects monitors and rules by the chart’s monitoring.labels, everywhere', () => {
    const labels = chartMonitorLabels(
      readFileSync(path.join(REPO_ROOT, 'charts', 'telemetrypulse', 'values.yaml'), 'utf8'),
    );
    assert.deepEqual(labels, { release: 'kube-prometheus-stack' });
    const spec = prometheusResource({
      operatorImage: 'op',
      prometheusImage: 'prom',
      prometheusVersion: prometheusRelease('v0.53.3'),
      selectorLabels: labels,
    }).spec as Record<string, unknown>;
    assert.equal(spec.version, 'v2.53.3');
    for (const kind of ['serviceMonitor', 'podMonitor', 'rule']) {
      assert.deepEqual(spec[`${kind}Selector`], { matchLabels: labels }, kind);
      assert.deepEqual(spec[`${kind}NamespaceSelector`], {}, kind);
    }
  });

  it('when Prometheus’s go.mod replaces modules, then the published ones are repeated verbatim', () => {
    const goMod = `module github.com/prometheus/prometheus

go 1.21

replace (
\tk8s.io/klog => github.com/simonpasquier/klog-gokit v0.3.0 // comment
\tk8s.io/klog/v2 => github.com/simonpasquier/klog-gokit/v3 v3.3.0
\texample.com/local => ./local
)
`;
    assert.deepEqual(publishedReplaceLines(goMod), [
      'k8s.io/klog => github.com/simonpasquier/klog-gokit v0.3.0',
      'k8s.io/klog/v2 => github.com/simonpasquier/klog-gokit/v3 v3.3.0',
    ]);
  });
});
