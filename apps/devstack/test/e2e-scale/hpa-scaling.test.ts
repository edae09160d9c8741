// `make e2e-scale`: the HPA fallback (processor.autoscaling.mode=hpa) scales the processor on CPU,
// on the real node. metrics-server (`make metrics-server`, which `make e2e-scale` runs first)
// reads the pods' CPU from the kubelet; raising a Site's rate pushes the processor's CPU past the
// HPA's target share of its request and the Deployment grows (never past maxReplicas); lowering
// it brings the Deployment back to its minimum after the stabilization window. Outcomes are
// asserted, never timings: each wait has a generous deadline, and the run prints what it saw.
import assert from 'node:assert/strict';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import postgres, { type Sql } from 'postgres';
import { readNodeStatus } from '../../src/node/status.ts';
import { REPO_ROOT } from '../../src/paths.ts';
import { waitFor } from '../../src/test/index.ts';
import {
  failureReport,
  installChart,
  nodeTools,
  publishKnownEvents,
  storedCounts,
  uninstallChart,
  type KnownEvents,
  type NodeTools,
} from '../e2e/support.ts';
import {
  deploymentReplicas,
  replicaTimeline,
  type Sample,
  seconds,
  setSiteRate,
} from './support.ts';

const NAMESPACE = 'telemetrypulse-hpa';
const RELEASE = 'hpa';
const SCALE_VALUES = path.join(REPO_ROOT, 'apps', 'devstack', 'test', 'e2e-scale', 'values.yaml');
const EVENTS_TOPIC = 'hpa.telemetry.events';
const PARTITIONS = 3;
const SITE = 'site-01';
/** The processor Deployment and its HPA, named alike. */
const PROCESSOR = `${RELEASE}-telemetrypulse-processor`;
/** A rate at which one processor needs several times its 100m CPU request (values.yaml). */
const HIGH_RATE = 2000;
const LOW_RATE = 5;
const METRICS_APISERVICE = 'v1beta1.metrics.k8s.io';

interface Hpa {
  spec: { minReplicas?: number; maxReplicas: number };
  status?: {
    conditions?: { type: string; status: string }[];
    currentMetrics?: { resource?: { current?: { averageUtilization?: number } } }[];
  };
}

describe('the HPA fallback scales the processor on CPU, on a real node', function () {
  let tools: NodeTools;
  let sql: Sql;
  const samples: Sample[] = [];
  let phase = 'installed';
  let sampler: NodeJS.Timeout | undefined;
  /** When this file's install began: the timeline counts from it. */
  let start = Date.now();
  let known: KnownEvents | undefined;

  const processorReplicas = () => deploymentReplicas(tools, NAMESPACE, PROCESSOR);
  const hpa = async () =>
    JSON.parse(
      await tools.kubectl(['-n', NAMESPACE, 'get', 'hpa', PROCESSOR, '-o', 'json']),
    ) as Hpa;
  /** The processors' CPU as a share of their request, as the HPA last read it. */
  const cpuShare = async () => {
    const share = (await hpa()).status?.currentMetrics?.[0]?.resource?.current?.averageUtilization;
    return share === undefined ? '-' : `${share}%`;
  };

  before(async function () {
    tools = await nodeTools();
    const status = readNodeStatus();
    assert.ok(status?.kafkaBrokers && status.databaseUrl, 'make cluster runs Kafka and PostgreSQL');
    sql = postgres(status.databaseUrl, { max: 2, onnotice: () => undefined });
    const available = await tools.kubectl([
      'get',
      'apiservice',
      METRICS_APISERVICE,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Available")].status}',
    ]);
    assert.equal(available.trim(), 'True', 'metrics-server serves resource metrics');
    const admin = new Kafka({
      brokers: [status.kafkaBrokers],
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{ topic: EVENTS_TOPIC, numPartitions: PARTITIONS }],
      });
    } finally {
      await admin.disconnect();
    }
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      console.log(await failureReport(tools, NAMESPACE));
      console.log(await tools.kubectl(['-n', NAMESPACE, 'describe', 'hpa']).catch(String));
      console.log(await tools.kubectl(['top', 'pods', '-n', NAMESPACE]).catch(String));
    }
  });

  after(async function () {
    if (sampler) clearInterval(sampler);
    if (samples.length > 0) {
      console.log('    processor replicas over time (s since the install began):');
      for (const line of replicaTimeline(samples, start, 'CPU/request')) {
        console.log(`      ${line}`);
      }
    }
    await sql.end();
    await uninstallChart(tools, RELEASE, NAMESPACE, { deleteNamespace: true });
  });

  it('when the chart is installed with autoscaling.mode=hpa, then its HPA reads the processor’s CPU from metrics-server', async function () {
    const started = Date.now();
    start = started;
    await installChart(tools, RELEASE, NAMESPACE, [
      '-f',
      SCALE_VALUES,
      '--set',
      'processor.autoscaling.mode=hpa',
      '--set',
      `kafka.topics.events=${EVENTS_TOPIC}`,
      '--set',
      'kafka.consumerGroup=e2e-hpa',
    ]);
    console.log(`    helm install --wait: ${seconds(Date.now() - started)}`);
    sampler = setInterval(() => {
      void Promise.all([processorReplicas(), cpuShare()])
        .then(([r, metric]) => samples.push({ at: Date.now(), phase, ...r, metric }))
        .catch(() => undefined);
    }, 2000);
    const found = await hpa();
    assert.equal(found.spec.minReplicas, 1);
    assert.equal(found.spec.maxReplicas, PARTITIONS);
    await waitFor(
      'the HPA to read the processor’s CPU',
      async () =>
        (await hpa()).status?.conditions?.some(
          (c) => c.type === 'ScalingActive' && c.status === 'True',
        ) ?? false,
      3 * 60_000,
      2000,
    );
    assert.deepEqual(await processorReplicas(), { replicas: 1, ready: 1 });
  });

  it("when a Site's rate rises, then the processor's CPU passes the HPA's target and it grows, never past maxReplicas", async function () {
    const status = readNodeStatus();
    assert.ok(status?.kafkaBrokers);
    // Known events published alongside the simulator, to be found stored once at the end.
    known = publishKnownEvents(status.kafkaBrokers, EVENTS_TOPIC, 'site-hpa-known', 40, 50, 2000);
    phase = `${SITE} at ${HIGH_RATE} events/s`;
    const raisedAt = Date.now();
    await setSiteRate(tools, NAMESPACE, SITE, HIGH_RATE);
    await waitFor(
      'more than one processor replica',
      async () => (await processorReplicas()).replicas > 1,
      5 * 60_000,
      2000,
    );
    console.log(
      `    the HPA asked for more processors ${seconds(Date.now() - raisedAt)} after the raise, ` +
        `at ${await cpuShare()} of the CPU request`,
    );
    await waitFor(
      'more than one processor replica Ready',
      async () => (await processorReplicas()).ready > 1,
      5 * 60_000,
      2000,
    );
    const most = Math.max(...samples.map((s) => s.replicas));
    assert.ok(most <= PARTITIONS, `never more replicas (${most}) than maxReplicas (${PARTITIONS})`);
  });

  it('when the rate falls again, then the processor returns to its minimum after the stabilization window', async function () {
    phase = `${SITE} back at ${LOW_RATE} events/s`;
    const loweredAt = Date.now();
    await setSiteRate(tools, NAMESPACE, SITE, LOW_RATE);
    await waitFor(
      'the processor back at 1 replica',
      async () => {
        const { replicas, ready } = await processorReplicas();
        return replicas === 1 && ready === 1;
      },
      8 * 60_000,
      2000,
    );
    console.log(`    back at 1 replica ${seconds(Date.now() - loweredAt)} after the rate fell`);
    const most = Math.max(...samples.map((s) => s.replicas));
    assert.ok(most > 1 && most <= PARTITIONS, `most replicas seen: ${most}`);
  });

  it('then every known event published while it scaled was stored once', async function () {
    assert.ok(known);
    await known.done;
    const ids = known.ids;
    await waitFor(
      `all ${ids.length} known events to be stored`,
      async () => [...(await storedCounts(sql, ids)).values()].every((n) => n > 0),
      5 * 60_000,
      1000,
    );
    const notOnce = [...(await storedCounts(sql, ids))].filter(([, n]) => n !== 1);
    assert.deepEqual(notOnce, [], 'each known event is stored exactly once');
  });
});
