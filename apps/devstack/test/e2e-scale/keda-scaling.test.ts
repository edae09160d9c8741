// `make e2e-scale`: KEDA scales the processor on the real node. The chart's ScaledObject watches
// the events topic's consumer lag; raising a Site's rate past what one processor keeps up with
// grows the processor Deployment (never past the topic's partitions), lowering it brings the
// Deployment back to its minimum, and every event is stored once throughout. KEDA runs as pods of
// its own manifests (`make keda`, which `make e2e-scale` runs first). Outcomes are asserted,
// never timings: each wait has a generous deadline, and the run prints what it saw.
import assert from 'node:assert/strict';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import postgres, { type Sql } from 'postgres';
import { KEDA_APISERVICE } from '../../src/keda/manifests.ts';
import { readNodeStatus } from '../../src/node/status.ts';
import { REPO_ROOT } from '../../src/paths.ts';
import { rawCounts, waitFor, windowMismatches } from '../../src/test/index.ts';
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

const NAMESPACE = 'telemetrypulse';
const RELEASE = 'telemetrypulse';
const SCALE_VALUES = path.join(REPO_ROOT, 'apps', 'devstack', 'test', 'e2e-scale', 'values.yaml');
const EVENTS_TOPIC = 'scale.telemetry.events';
const PARTITIONS = 3;
const SITE = 'site-01';
const PROCESSOR = `${RELEASE}-processor`;
/** The rates tried in turn until KEDA scales out (the test values allow up to 4000). */
const RAISED_RATES = [1000, 2000, 4000];
/** processor.autoscaling.scaleDownStabilizationSeconds in values.yaml. */
const STABILIZATION_SECONDS = 60;
const LOW_RATE = 5;

describe('KEDA scales the processor on consumer lag, on a real node', function () {
  let tools: NodeTools;
  let sql: Sql;
  let brokers: string;
  const samples: Sample[] = [];
  let phase = 'installed';
  let sampler: NodeJS.Timeout | undefined;
  /** When this file's install began: the timeline counts from it. */
  let start = Date.now();
  let known: KnownEvents | undefined;

  const processorReplicas = () => deploymentReplicas(tools, NAMESPACE, PROCESSOR);

  const hpaLag = async () => {
    const hpa = JSON.parse(
      await tools.kubectl(['-n', NAMESPACE, 'get', 'hpa', `keda-hpa-${PROCESSOR}`, '-o', 'json']),
    ) as {
      status?: { currentMetrics?: { external?: { current?: { averageValue?: string } } }[] };
    };
    return hpa.status?.currentMetrics?.[0]?.external?.current?.averageValue ?? '-';
  };

  const setRate = (eventsPerSecond: number) => setSiteRate(tools, NAMESPACE, SITE, eventsPerSecond);

  before(async function () {
    tools = await nodeTools();
    const status = readNodeStatus();
    assert.ok(status?.kafkaBrokers && status.databaseUrl, 'make cluster runs Kafka and PostgreSQL');
    brokers = status.kafkaBrokers;
    sql = postgres(status.databaseUrl, { max: 2, onnotice: () => undefined });
    const available = await tools.kubectl([
      'get',
      'apiservice',
      KEDA_APISERVICE,
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Available")].status}',
    ]);
    assert.equal(available.trim(), 'True', 'KEDA serves external metrics (make keda)');
    const admin = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
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
      console.log(await failureReport(tools, 'keda'));
    }
  });

  after(async function () {
    if (sampler) clearInterval(sampler);
    if (samples.length > 0) {
      console.log('    processor replicas over time (s since the install began):');
      for (const line of replicaTimeline(samples, start, 'lag/replica'))
        console.log(`      ${line}`);
    }
    await sql.end();
    await uninstallChart(tools, RELEASE, NAMESPACE);
  });

  it('when the chart is installed with autoscaling.mode=keda, then KEDA makes the HPA of its ScaledObject', async function () {
    const started = Date.now();
    start = started;
    await installChart(tools, RELEASE, NAMESPACE, ['-f', SCALE_VALUES]);
    console.log(`    helm install --wait: ${seconds(Date.now() - started)}`);
    sampler = setInterval(() => {
      void Promise.all([processorReplicas(), hpaLag()])
        .then(([r, metric]) => samples.push({ at: Date.now(), phase, ...r, metric }))
        .catch(() => undefined);
    }, 2000);
    await waitFor(
      'the ScaledObject to be Ready with its HPA',
      async () => {
        const scaled = JSON.parse(
          await tools.kubectl(['-n', NAMESPACE, 'get', 'scaledobject', PROCESSOR, '-o', 'json']),
        ) as {
          status?: {
            hpaName?: string;
            conditions?: { type: string; status: string }[];
          };
        };
        const ready = scaled.status?.conditions?.some(
          (c) => c.type === 'Ready' && c.status === 'True',
        );
        return Boolean(ready && scaled.status?.hpaName);
      },
      3 * 60_000,
      2000,
    );
    const hpa = JSON.parse(
      await tools.kubectl(['-n', NAMESPACE, 'get', 'hpa', `keda-hpa-${PROCESSOR}`, '-o', 'json']),
    ) as { spec: { minReplicas?: number; maxReplicas: number } };
    assert.equal(hpa.spec.minReplicas, 1);
    assert.equal(hpa.spec.maxReplicas, PARTITIONS);
    // The HPA controller reads the lag through the aggregated API KEDA's adapter serves.
    await waitFor(
      'the HPA to read the lag metric',
      async () => {
        const found = JSON.parse(
          await tools.kubectl([
            '-n',
            NAMESPACE,
            'get',
            'hpa',
            `keda-hpa-${PROCESSOR}`,
            '-o',
            'json',
          ]),
        ) as { status?: { conditions?: { type: string; status: string }[] } };
        return (
          found.status?.conditions?.some(
            (c) => c.type === 'ScalingActive' && c.status === 'True',
          ) ?? false
        );
      },
      3 * 60_000,
      2000,
    );
    assert.deepEqual(await processorReplicas(), { replicas: 1, ready: 1 });
  });

  it("when a Site's rate rises past what one processor keeps up with, then the processor grows, never past the topic's partitions", async function () {
    const raisedAt = Date.now();
    // Known events published alongside the simulator, to be found stored once at the end.
    known = publishKnownEvents(brokers, EVENTS_TOPIC, 'site-scale-known', 60, 50, 2000);
    let heldAt: number | undefined;
    for (const rate of RAISED_RATES) {
      phase = `${SITE} at ${rate} events/s`;
      console.log(`    ${phase} (${seconds(Date.now() - raisedAt)} after the first raise)`);
      await setRate(rate);
      const scaledOut = await waitFor(
        'more than one processor replica',
        async () => (await processorReplicas()).replicas > 1,
        3 * 60_000,
        2000,
      ).then(
        () => true,
        () => false,
      );
      if (!scaledOut) continue;
      console.log(
        `    KEDA asked for more processors ${seconds(Date.now() - raisedAt)} after the first raise`,
      );
      // A lag peak (the simulator restarting at its new rate) scales out once; a rate one
      // processor does not keep up with keeps it out past the scale-down window. The HPA scales
      // in to the highest recommendation of the last window, so more than one replica after it
      // means the lag asked for them after the peak, whether it held two or all three.
      await new Promise((resolve) => setTimeout(resolve, (STABILIZATION_SECONDS + 15) * 1000));
      const held = (await processorReplicas()).replicas;
      if (held > 1) {
        heldAt = rate;
        console.log(`    ${held} replicas a scale-down window later at ${rate} events/s`);
        break;
      }
      console.log(`    back at 1 replica at ${rate} events/s: one processor keeps up`);
    }
    assert.ok(
      heldAt,
      `KEDA kept the processor scaled out at one of ${RAISED_RATES.join(', ')} events/s`,
    );
    await waitFor(
      'more than one processor replica Ready',
      async () => (await processorReplicas()).ready > 1,
      5 * 60_000,
      2000,
    );
    const most = Math.max(...samples.map((s) => s.replicas));
    console.log(
      `    held at ${heldAt} events/s; most processor replicas seen: ${most} (topic partitions: ${PARTITIONS})`,
    );
    assert.ok(most > 1);
    assert.ok(most <= PARTITIONS, `never more replicas (${most}) than partitions (${PARTITIONS})`);
  });

  it('when the rate falls again, then the processor returns to its minimum after the stabilization window', async function () {
    const before = await processorReplicas();
    console.log(`    when the rate falls: ${before.replicas} replicas, ${before.ready} Ready`);
    assert.ok(before.replicas > 1, 'the processor is still scaled out under the high rate');
    phase = `${SITE} back at ${LOW_RATE} events/s`;
    const loweredAt = Date.now();
    await setRate(LOW_RATE);
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
    assert.ok(most <= PARTITIONS, `never more replicas (${most}) than partitions (${PARTITIONS})`);
  });

  it('then every event was stored once and every window equals its raw events', async function () {
    phase = 'checking the store';
    assert.ok(known, 'known events were published while the processor scaled');
    await known.done;
    const knownIds = known.ids;
    await waitFor(
      `all ${knownIds.length} known events to be stored`,
      async () => [...(await storedCounts(sql, knownIds)).values()].every((n) => n > 0),
      5 * 60_000,
      1000,
    );
    const notOnce = [...(await storedCounts(sql, knownIds))].filter(([, n]) => n !== 1);
    assert.deepEqual(notOnce, [], 'each known event is stored exactly once');
    // The consumer group has caught up: nothing is in flight while the store is compared.
    await waitFor(
      'the consumer group to catch up',
      async () => {
        const admin = new Kafka({ brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
        await admin.connect();
        try {
          const [ends, [committed]] = await Promise.all([
            admin.fetchTopicOffsets(EVENTS_TOPIC),
            admin.fetchOffsets({ groupId: 'telemetry-processor-group', topics: [EVENTS_TOPIC] }),
          ]);
          const lag = ends.reduce((sum, end) => {
            const done = committed?.partitions.find((p) => p.partition === end.partition);
            return sum + Number(end.offset) - Math.max(0, Number(done?.offset ?? 0));
          }, 0);
          // The simulator still publishes a few events a second.
          return lag < 50;
        } finally {
          await admin.disconnect();
        }
      },
      3 * 60_000,
      2000,
    );
    const { rows, distinct } = await rawCounts({ sql });
    console.log(`    raw events stored: ${rows}`);
    assert.ok(rows > 0);
    assert.equal(rows, distinct, 'no event is stored twice');
    // Compared while the simulator is paused, so no window moves during the comparison.
    await tools.kubectl([
      '-n',
      NAMESPACE,
      'patch',
      'site',
      SITE,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { paused: true } }),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    await waitFor(
      'every window aggregate to equal its raw events',
      async () => (await windowMismatches({ sql })).length === 0,
      2 * 60_000,
      2000,
    );
    assert.deepEqual(await windowMismatches({ sql }), []);
  });
});
