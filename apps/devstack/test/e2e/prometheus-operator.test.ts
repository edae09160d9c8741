// Prometheus scrapes what the chart declares: prometheus-operator (built from its Go module, the
// version whose CRDs the project pins) runs on the real node with its own manifests, turns the
// chart's ServiceMonitors and PodMonitors into Prometheus's scrape configuration, and a real
// Prometheus (v2.53.3, built from its Go module: Debian's 2.42, which the local checks run, is
// built without Kubernetes service discovery) runs with it and discovers the pods. Then every app pod is an `up` target, every dashboard query and the measurement
// behind every alert rule return data from those pods, and the chart's rules are loaded.
import assert from 'node:assert/strict';
import { readNodeStatus } from '../../src/node/status.ts';
import { waitFor } from '../../src/ports.ts';
import {
  installPrometheusOperator,
  type InstalledPrometheus,
} from '../../src/prometheus-operator/install.ts';
import {
  CONFIG_SECRET,
  MONITORING_NAMESPACE,
  PROMETHEUS_NAME,
  PROMETHEUS_PORT,
} from '../../src/prometheus-operator/manifests.ts';
import {
  expectedJobs,
  generatedConfig,
  jobDisagreements,
  jobName,
  monitorsIn,
  type GeneratedConfig,
} from '../../src/prometheus-operator/scrape-config.ts';
import { createPrometheusClient, type PrometheusClient } from '../../src/prometheus/query.ts';
import {
  loadRules,
  resolvedDashboardQueries,
  ruleMeasurementQueries,
  runQueries,
  withoutData,
  type Outcome,
} from '../../src/prometheus/queries.ts';
import { exerciseApi, produceScenario, quietKafka } from '../../src/test/observability-scenario.ts';
import {
  failureReport,
  installChart,
  nodeTools,
  portForward,
  uninstallChart,
  type NodeTools,
  type PortForward,
} from './support.ts';

const NAMESPACE = 'telemetrypulse-scrape';
const RELEASE = 'scrape';
const API_KEY = 'e2e-scrape-key';
const EVENTS_TOPIC = 'e2e.scrape.events';
/** Two Sites: two simulator pods, each of which must be scraped. */
const SITES = ['scrape-hq', 'scrape-lab'];
const APP_COMPONENTS = ['processor', 'api', 'operator', 'simulator'];

/**
 * Queries that may rightly return nothing here, each with why. Empty means: none may.
 * (`where` as in the failure message: "<dashboard> / <panel> / <refId>" or "rule <alert>".)
 */
const NO_DATA_EXPECTED: Record<string, string> = {};

describe('Prometheus configured by prometheus-operator from the chart’s monitors, on the real node', function () {
  let tools: NodeTools;
  let prometheus: InstalledPrometheus;
  let forward: PortForward | undefined;
  let client: PrometheusClient;

  before(async function () {
    // A machine without the operator's build builds it here (a few minutes, once).
    this.timeout(30 * 60_000);
    tools = await nodeTools();
    prometheus = await installPrometheusOperator((line) => {
      console.log(`    ${line}`);
    });
    // The default Sites removed (`null`), two small ones of this test's instead.
    const sites: Record<string, object | null> = {
      'site-01': null,
      'site-02': null,
      'site-03': null,
    };
    for (const site of SITES) sites[site] = { zones: 2, devicesPerZone: 2, eventsPerSecond: 4 };
    await installChart(tools, RELEASE, NAMESPACE, [
      '--set',
      'monitoring.enabled=true',
      // Scrapes every 5 s, so the dashboards' rates over Grafana's $__rate_interval (20 s here)
      // have samples to work on.
      '--set',
      'monitoring.interval=5s',
      '--set',
      `kafka.topics.events=${EVENTS_TOPIC}`,
      '--set',
      'kafka.topics.dlq=e2e.scrape.dlq',
      '--set',
      'kafka.topics.alerts=e2e.scrape.alerts',
      '--set',
      'kafka.consumerGroup=e2e-scrape',
      '--set',
      'api.replicaCount=1',
      '--set-json',
      `api.auth.apiKeys=${JSON.stringify([API_KEY])}`,
      '--set-json',
      `sites=${JSON.stringify(sites)}`,
    ]);
    forward = await portForward(
      tools,
      prometheus.namespace,
      `pod/${prometheus.pod}`,
      PROMETHEUS_PORT,
    );
    client = createPrometheusClient(forward.url);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      console.log(await failureReport(tools, NAMESPACE));
      console.log(await failureReport(tools, MONITORING_NAMESPACE));
      // Prometheus is Ready even when it discovers nothing: its own words say why.
      console.log(
        await tools
          .kubectl([
            '-n',
            MONITORING_NAMESPACE,
            'logs',
            `prometheus-${PROMETHEUS_NAME}-0`,
            '--all-containers',
            '--tail=40',
          ])
          .catch((error: unknown) => (error as Error).message),
      );
    }
  });

  after(async function () {
    this.timeout(8 * 60_000);
    forward?.stop();
    await uninstallChart(tools, RELEASE, NAMESPACE, { deleteNamespace: true });
  });

  /** The release's app pods that run: processor, API, operator and each Site's simulator. */
  const appPods = async () => {
    const pods = JSON.parse(
      await tools.kubectl([
        '-n',
        NAMESPACE,
        'get',
        'pods',
        '-l',
        `app.kubernetes.io/component in (${APP_COMPONENTS.join(',')})`,
        '--field-selector=status.phase=Running',
        '-o',
        'json',
      ]),
    ) as { items: { metadata: { name: string; labels: Record<string, string> } }[] };
    return pods.items.map((p) => ({
      name: p.metadata.name,
      component: p.metadata.labels['app.kubernetes.io/component'] ?? '',
    }));
  };

  it('then the configuration the operator wrote has one job per endpoint of the chart’s monitors, discovering and selecting as they do', async function () {
    this.timeout(5 * 60_000);
    const monitors = monitorsIn(
      await tools.helm(['get', 'manifest', RELEASE, '-n', NAMESPACE]),
      NAMESPACE,
    );
    assert.deepEqual(
      monitors.map((m) => `${m.kind}/${m.metadata.name}`).sort(),
      [
        `PodMonitor/${RELEASE}-telemetrypulse-operator`,
        `PodMonitor/${RELEASE}-telemetrypulse-simulators`,
        `ServiceMonitor/${RELEASE}-telemetrypulse-api`,
        `ServiceMonitor/${RELEASE}-telemetrypulse-processor`,
      ].sort(),
      'the chart declares a monitor for each app',
    );
    const wanted = expectedJobs(monitors);
    let config: GeneratedConfig = {};
    const jobs = () => (config.scrape_configs ?? []).map((j) => j.job_name).sort();
    // The operator rewrites the Secret once it has seen the release's monitors.
    await waitFor(
      `the operator to write jobs ${wanted.join(', ')}`,
      async () => {
        const data = await tools.kubectl([
          '-n',
          prometheus.namespace,
          'get',
          'secret',
          CONFIG_SECRET.name,
          '-o',
          `jsonpath={.data.${CONFIG_SECRET.key.replace(/\./g, '\\.')}}`,
        ]);
        config = generatedConfig(data);
        return JSON.stringify(jobs()) === JSON.stringify(wanted);
      },
      120_000,
      2000,
    ).catch(() => undefined);
    assert.deepEqual(jobs(), wanted, 'the scrape jobs are exactly the chart’s monitors’ endpoints');
    const disagreements = monitors.flatMap((monitor) =>
      (monitor.kind === 'ServiceMonitor'
        ? monitor.spec.endpoints
        : monitor.spec.podMetricsEndpoints)!.flatMap((_, i) => {
        const job = config.scrape_configs?.find((j) => j.job_name === jobName(monitor, i));
        return job ? jobDisagreements(job, monitor, i) : [`${jobName(monitor, i)} is missing`];
      }),
    );
    assert.deepEqual(disagreements, []);
    assert.ok(
      (config.rule_files ?? []).length > 0,
      'the chart’s PrometheusRule became a rule file',
    );
  });

  it('then every app pod — processor, API, operator, each simulator — is a target that is up', async function () {
    this.timeout(5 * 60_000);
    let pods: { name: string; component: string }[] = [];
    let up = new Set<string>();
    await waitFor(
      'an up target for every app pod',
      async () => {
        pods = await appPods();
        const answer = await client.query(`up{namespace="${NAMESPACE}"} == 1`);
        up = new Set(
          answer.resultType === 'vector' ? answer.result.map((s) => s.metric.pod ?? '') : [],
        );
        return pods.length > 0 && pods.every((p) => up.has(p.name));
      },
      180_000,
      3000,
    ).catch(() => undefined);
    assert.deepEqual(
      [...new Set(pods.map((p) => p.component))].sort(),
      [...APP_COMPONENTS].sort(),
      'kubectl lists a running pod of each app',
    );
    assert.equal(pods.filter((p) => p.component === 'simulator').length, SITES.length);
    const missing = pods.filter((p) => !up.has(p.name)).map((p) => `${p.component} ${p.name}`);
    const targets = await client.targets();
    assert.deepEqual(
      missing,
      [],
      `pods without an up target:\n${targets.map((t) => `  ${t.job} ${t.scrapeUrl} ${t.health} ${t.lastError}`).join('\n')}`,
    );
  });

  /** Polls until every query returns data (or time is up); the outcomes of the last round. */
  const settle = async (what: string, queries: () => Promise<Outcome[]>) => {
    let outcomes: Outcome[] = [];
    await waitFor(
      what,
      async () => {
        outcomes = await queries();
        return outcomes.every((o) => o.result === 'data' || o.query.where in NO_DATA_EXPECTED);
      },
      180_000,
      5000,
    ).catch(() => undefined);
    assert.ok(outcomes.length > 0);
    const unexpected = outcomes.filter((o) => !(o.query.where in NO_DATA_EXPECTED));
    assert.equal(
      withoutData(unexpected),
      '',
      `${what}: queries without data:\n${withoutData(unexpected)}`,
    );
  };

  it('then every dashboard variable and panel query returns data from the release’s pods', async function () {
    this.timeout(6 * 60_000);
    const status = readNodeStatus();
    assert.ok(status?.kafkaBrokers, 'make cluster runs Kafka on the node');
    // What makes the error and alert series exist (a dead letter, a late reading, alerts).
    await produceScenario(quietKafka(status.kafkaBrokers), EVENTS_TOPIC, SITES[0] ?? '');
    const api = await portForward(tools, NAMESPACE, `svc/${RELEASE}-telemetrypulse-api`, 8000);
    try {
      await exerciseApi(api.url, API_KEY, SITES[0] ?? '');
    } finally {
      api.stop();
    }
    // Only series of this release's pods: nothing else on the node is scraped.
    const foreign = await client.query(`count by (namespace) (up{namespace!="${NAMESPACE}"})`);
    assert.deepEqual(foreign.result, [], 'Prometheus scrapes the release only');
    await settle('every dashboard query to return data', async () =>
      runQueries(client, await resolvedDashboardQueries(client, { site: SITES[0] ?? '' })),
    );
  });

  it('then the measurement behind every alert rule returns data, and Prometheus evaluates the chart’s rules without error', async function () {
    this.timeout(5 * 60_000);
    await settle('every rule measurement to return data', () =>
      runQueries(client, ruleMeasurementQueries()),
    );
    const rules = await client.rules();
    assert.deepEqual(
      rules.map((r) => r.name).sort(),
      loadRules()
        .map((r) => r.alert)
        .sort(),
    );
    assert.deepEqual(
      rules.filter((r) => r.health === 'err'),
      [],
    );
  });
});
