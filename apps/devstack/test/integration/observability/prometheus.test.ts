// The dashboards and alert rules query metrics that really exist: the platform's apps run as
// real processes on the suite's Kafka and PostgreSQL (the operator on the Kubernetes testbed), a
// real Prometheus scrapes them, and every expression the chart ships must return data.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deviceId, type TelemetryEvent } from '@telemetrypulse/shared';
import { startChild, type Child } from '../../../src/child.ts';
import { REPO_ROOT } from '../../../src/paths.ts';
import { freePorts, waitFor } from '../../../src/ports.ts';
import { hasData } from '../../../src/prometheus/query.ts';
import { startPrometheus, type PrometheusServer } from '../../../src/prometheus/server.ts';
import { createTestDatabase, type TestDatabase } from '../../../src/test/database.ts';
import { telemetryEvent } from '../../../src/test/events.ts';
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
  panelQueries,
  RULES_FILE,
  ruleMeasurements,
  substitute,
  variableQueries,
  type NamedQuery,
} from './queries.ts';

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

/** Readings that exercise every counter: dead letters, a late event, alerts opened and resolved. */
async function produceScenario(topic: string): Promise<void> {
  const now = Date.now();
  const event = (zone: string, sensor: string, value: number, agoMs: number) => ({
    key: deviceId(SITE, zone, 0),
    value: JSON.stringify(
      telemetryEvent({
        site_id: SITE,
        zone_id: zone,
        sensor_type: sensor as TelemetryEvent['sensor_type'],
        value,
        ts_event: new Date(now - agoMs).toISOString(),
      }),
    ),
  });
  const producer = testKafka().producer();
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: 'bad', value: 'not json at all' },
        event('zone-01', 'humidity', 150, 1000), // out of range
        event('zone-02', 'temperature', 21, 15 * 60_000), // late
        event('zone-90', 'co2', 1500, 3000), // opens CO2_HIGH and stays open
        event('zone-91', 'co2', 1500, 3000), // opens CO2_HIGH ...
      ],
    });
    await producer.send({ topic, acks: -1, messages: [event('zone-91', 'co2', 500, 1000)] }); // ... resolves it
  } finally {
    await producer.disconnect();
  }
}

/** Requests that give the API's histograms routes, statuses and an ingest. */
async function exerciseApi(url: string): Promise<void> {
  for (const route of [
    '/health',
    '/kpis/live',
    '/api/v1/sites',
    '/api/v1/alerts',
    '/no/such/route',
  ]) {
    await (await fetch(url + route)).arrayBuffer();
  }
  const ingest = await fetch(`${url}/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: JSON.stringify({
      device_id: deviceId(SITE, 'zone-01', 1),
      site_id: SITE,
      zone_id: 'zone-01',
      sensor_type: 'temperature',
      value: 22.5,
    }),
  });
  assert.equal(ingest.status, 201, await ingest.text());
}

interface Outcome {
  query: NamedQuery;
  /** 'data', 'empty' or the error Prometheus answered. */
  result: string;
}

async function runAll(prometheus: PrometheusServer, queries: NamedQuery[]): Promise<Outcome[]> {
  return Promise.all(
    queries.map(async (query) => {
      try {
        return { query, result: hasData(await prometheus.query(query.expr)) ? 'data' : 'empty' };
      } catch (error) {
        return {
          query,
          result: `error: ${error instanceof Error ? error.message : String(error)}`,
        };
      }
    }),
  );
}

function report(outcomes: Outcome[]): string {
  return outcomes
    .filter((o) => o.result !== 'data')
    .map((o) => `  ${o.query.where}: ${o.result}\n    ${o.query.expr}`)
    .join('\n');
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
    await produceScenario(topics.events);
    await exerciseApi(apiUrl);
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
    const variables = variableQueries();
    const values: Record<string, string> = {};
    let outcomes: Outcome[] = [];
    // Data arrives over a few scrapes and the processor's periodic gauges: poll until it all is.
    await waitFor(
      'every query to return data',
      async () => {
        for (const v of variables) {
          const answer = await server().query(v.expr);
          const listed =
            answer.resultType === 'vector' ? answer.result.map((s) => s.metric[v.label]) : [];
          // Without values the variable's own query is reported empty; its panels then are too.
          values[v.name] = listed.includes(SITE) ? SITE : (listed[0] ?? 'no-value');
        }
        const queries = [
          ...variables,
          ...panelQueries().map((q) => ({ ...q, expr: substitute(q.expr, values) })),
        ];
        outcomes = await runAll(server(), queries);
        return outcomes.every((o) => o.result === 'data');
      },
      180_000,
      3000,
    ).catch(() => undefined);
    assert.ok(outcomes.length > 0);
    assert.equal(
      report(outcomes),
      '',
      `queries without data (app logs in ${logDir}):\n${report(outcomes)}`,
    );
  });

  it('then the measurement behind every alert rule returns data and every rule evaluates without error', async function () {
    this.timeout(240_000);
    const queries = loadRules().flatMap((rule) =>
      ruleMeasurements(rule.expr).map((expr) => ({ where: `rule ${rule.alert}`, expr })),
    );
    let outcomes: Outcome[] = [];
    await waitFor(
      'every rule measurement to return data',
      async () => {
        outcomes = await runAll(server(), queries);
        return outcomes.every((o) => o.result === 'data');
      },
      120_000,
      3000,
    ).catch(() => undefined);
    assert.equal(report(outcomes), '', `rule measurements without data:\n${report(outcomes)}`);

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
