// The dashboards and alert rules query metrics that really exist: the platform's apps run as
// real processes on the suite's Kafka and PostgreSQL (the operator on the Kubernetes testbed), a
// real Prometheus scrapes them, and every expression the chart ships must return data.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startChild, type Child } from '../../../src/child.ts';
import { REPO_ROOT } from '../../../src/paths.ts';
import { freePorts, waitFor } from '../../../src/ports.ts';
import { hasData } from '../../../src/prometheus/query.ts';
import { startPrometheus, type PrometheusServer } from '../../../src/prometheus/server.ts';
import { createTestDatabase, type TestDatabase } from '../../../src/test/database.ts';
import { exerciseApi, produceScenario } from '../../../src/test/observability-scenario.ts';
import {
  createTestTopics,
  testBrokers,
  testKafka,
  type TestTopics,
} from '../../../src/test/kafka.ts';
import {
  createTestNamespace,
  TESTBED_START_TIMEOUT_MS,
  useTestbed,
  type TestNamespace,
} from '../../../src/test/testbed.ts';
import { eventually, installSiteCrd, SiteClient } from '@telemetrypulse/operator/testing';
import {
  loadRules,
  resolvedDashboardQueries,
  ruleMeasurementQueries,
  RULES_FILE,
  runQueries,
  withoutData,
  type Outcome,
} from '../../../src/prometheus/queries.ts';

const SITE = 'site-obs';
/** The Site the operator reconciles (its simulator Deployment never runs: no kubelet). */
const OPERATOR_SITE = 'obs-hq';
const API_KEY = 'observability-test-key';
const JOBS = ['processor', 'api', 'simulator', 'operator'];

function startApp(app: string, logDir: string, env: Record<string, string>): Child {
  return startChild({
    name: app,
    command: process.execPath,
    args: [path.join(REPO_ROOT, 'apps', app, 'src', 'main.ts')],
    env: { ...process.env, LOG_LEVEL: 'warn', HTTP_HOST: '127.0.0.1', ...env },
    logFile: path.join(logDir, `${app}.log`),
  });
}

describe('dashboards and alert rules against a real Prometheus scraping the platform', () => {
  const children: Child[] = [];
  let logDir: string;
  let db: TestDatabase | undefined;
  let namespace: TestNamespace | undefined;
  let topics: TestTopics;
  let prometheus: PrometheusServer | undefined;
  let apiUrl: string;
  const server = (): PrometheusServer => {
    assert.ok(prometheus, 'Prometheus did not start');
    return prometheus;
  };

  before(async function () {
    this.timeout(TESTBED_START_TIMEOUT_MS + 300_000);
    const testbed = await useTestbed();
    await installSiteCrd(testbed.kubeConfig());
    namespace = await createTestNamespace(testbed, 'observability');
    logDir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-observability-'));
    db = await createTestDatabase();
    topics = await createTestTopics(3);
    const [processorPort = 0, apiPort = 0, simulatorPort = 0, operatorPort = 0] =
      await freePorts(4);
    const kafka = {
      KAFKA_BROKERS: testBrokers(),
      EVENTS_TOPIC: topics.events,
    };
    children.push(
      startApp('processor', logDir, {
        ...kafka,
        DATABASE_URL: db.url,
        DLQ_TOPIC: topics.dlq,
        ALERTS_TOPIC: topics.alerts,
        CONSUMER_GROUP: `observability-${randomUUID()}`,
        HTTP_PORT: String(processorPort),
      }),
      startApp('api', logDir, {
        ...kafka,
        DATABASE_URL: db.url,
        HTTP_PORT: String(apiPort),
        API_KEYS: API_KEY,
      }),
      startApp('simulator', logDir, {
        ...kafka,
        SITE_ID: SITE,
        SITE_ZONES: 'zone-01,zone-02,zone-03',
        DEVICES_PER_ZONE: '2',
        EVENTS_PER_SECOND: '40',
        ANOMALY_RATE: '0',
        HTTP_PORT: String(simulatorPort),
      }),
      startApp('operator', logDir, {
        KUBECONFIG: testbed.kubeconfigPath,
        WATCH_NAMESPACE: namespace.name,
        LEASE_NAMESPACE: namespace.name,
        POD_NAME: 'operator-observability',
        DATABASE_URL: db.url,
        KAFKA_BROKERS: testBrokers(),
        HTTP_PORT: String(operatorPort),
      }),
    );
    apiUrl = `http://127.0.0.1:${apiPort}`;
    prometheus = await startPrometheus({
      targets: [
        { job: 'processor', address: `127.0.0.1:${processorPort}` },
        { job: 'api', address: `127.0.0.1:${apiPort}` },
        { job: 'simulator', address: `127.0.0.1:${simulatorPort}` },
        { job: 'operator', address: `127.0.0.1:${operatorPort}` },
      ],
      ruleFiles: [RULES_FILE],
    });
    const scraper = prometheus;
    await waitFor(
      `every app answering /metrics (logs in ${logDir})`,
      // Until Prometheus has discovered its targets the list is empty, and every() of [] is true.
      async () => {
        const targets = await scraper.targets();
        return targets.length === JOBS.length && targets.every((t) => t.health === 'up');
      },
      120_000,
      1000,
    );
    await produceScenario(testKafka(), topics.events, SITE);
    await exerciseApi(apiUrl, API_KEY, SITE);
    // A Site to reconcile: the operator (leader of its Lease by now) creates its Deployment.
    const sites = new SiteClient(testbed.kubeConfig(), namespace.name);
    await sites.create(OPERATOR_SITE, { zones: 2, eventsPerSecond: 4 });
    await eventually(
      `Deployment sim-${OPERATOR_SITE} (logs in ${logDir})`,
      () => sites.deployment(`sim-${OPERATOR_SITE}`),
      120_000,
    );
  });

  after(async function () {
    this.timeout(60_000);
    await prometheus?.stop();
    await Promise.all(children.map((c) => c.stop()));
    await namespace?.delete();
    await db?.drop();
    if (!process.env.KEEP_TEST_PLATFORM) rmSync(logDir, { recursive: true, force: true });
  });

  it('then Prometheus scraped every app, and the operator counted its reconciles', async function () {
    this.timeout(120_000);
    const up = await server().query('sum by (job) (up)');
    assert.equal(up.resultType, 'vector');
    assert.deepEqual(up.result.map((s) => s.metric.job).sort(), [...JOBS].sort());
    // The operator dashboard's rates are 0 without reconciles; make sure some were scraped.
    await waitFor(
      'a successful reconcile in Prometheus',
      async () =>
        hasData(await server().query('telemetry_operator_reconciles_total{result="success"} > 0')),
      60_000,
      1000,
    );
  });

  it('then every dashboard variable and panel query of all four dashboards returns data', async function () {
    this.timeout(240_000);
    let outcomes: Outcome[] = [];
    // Data arrives over a few scrapes and the processor's periodic gauges: poll until it all is.
    await waitFor(
      'every query to return data',
      async () => {
        outcomes = await runQueries(
          server(),
          await resolvedDashboardQueries(server(), { site: SITE }),
        );
        return outcomes.every((o) => o.result === 'data');
      },
      180_000,
      3000,
    ).catch(() => undefined);
    assert.ok(outcomes.length > 0);
    assert.equal(
      withoutData(outcomes),
      '',
      `queries without data (app logs in ${logDir}):\n${withoutData(outcomes)}`,
    );
  });

  it('then the measurement behind every alert rule returns data and every rule evaluates without error', async function () {
    this.timeout(240_000);
    const queries = ruleMeasurementQueries();
    let outcomes: Outcome[] = [];
    await waitFor(
      'every rule measurement to return data',
      async () => {
        outcomes = await runQueries(server(), queries);
        return outcomes.every((o) => o.result === 'data');
      },
      120_000,
      3000,
    ).catch(() => undefined);
    assert.equal(
      withoutData(outcomes),
      '',
      `rule measurements without data:\n${withoutData(outcomes)}`,
    );

    const rules = await server().rules();
    assert.deepEqual(
      rules.map((r) => r.name).sort(),
      loadRules()
        .map((r) => r.alert)
        .sort(),
    );
    const failing = rules.filter((r) => r.health === 'err');
    assert.deepEqual(failing, [], JSON.stringify(failing));
  });
});
