import assert from 'node:assert/strict';
import { createLogger, createMetricsRegistry } from '@telemetrypulse/shared';
import { createTestDatabase, type TestDatabase } from '@telemetrypulse/devstack/test';
import {
  createTestNamespace,
  type Testbed,
  TESTBED_START_TIMEOUT_MS,
  type TestNamespace,
  useTestbed,
} from '@telemetrypulse/devstack/test/kube';
import { loadConfig } from '../../src/config.ts';
import { loadKubeConfig, makeClients, mergePatch } from '../../src/runtime/kube.ts';
import { createOperatorMetrics } from '../../src/runtime/metrics.ts';
import { startOperator, type Operator } from '../../src/operator.ts';
import { REASONS } from '../../src/reconcile/reasons.ts';
import { sqlSiteRegistry } from '../../src/reconcile/site-registry.ts';
import { eventually, installSiteCrd, SiteClient } from './kube.ts';

const PULL_SECRET = 'sim-registry';

function env(value: { name: string; value?: string }[] | undefined, name: string) {
  return value?.find((e) => e.name === name)?.value;
}

describe('operator against a real API server and controller-manager', function () {
  let testbed: Testbed;
  let namespace: TestNamespace;
  let sites: SiteClient;
  let db: TestDatabase;
  // Undone in reverse by `after`, however far `before` got.
  const cleanup: (() => Promise<void>)[] = [];

  before(async function () {
    this.timeout(TESTBED_START_TIMEOUT_MS);
    testbed = await useTestbed();
    await installSiteCrd(testbed.kubeConfig());
    namespace = await createTestNamespace(testbed, 'operator');
    cleanup.push(() => namespace.delete());
    sites = new SiteClient(testbed.kubeConfig(), namespace.name);
    db = await createTestDatabase();
    cleanup.push(() => db.drop());
    operatorEnv = {
      KUBECONFIG: testbed.kubeconfigPath,
      WATCH_NAMESPACE: namespace.name,
      LEADER_ELECTION: 'false',
      SIMULATOR_IMAGE: 'telemetrypulse/simulator:test',
      KAFKA_BROKERS: 'redpanda.test:9092',
      SIMULATOR_EVENTS_TOPIC: 'plant.telemetry',
      SIMULATOR_LOG_LEVEL: 'debug',
      SIMULATOR_OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.test:4318',
      IMAGE_PULL_SECRETS: PULL_SECRET,
      POD_NAME: 'operator-test',
    };
    await startWith(operatorEnv);
    cleanup.push(() => operator.stop());
  });

  let operatorEnv: Record<string, string>;
  let operator: Operator;
  async function startWith(environment: Record<string, string>) {
    operator = await startOperator(loadConfig(environment), {
      clients: makeClients(loadKubeConfig(testbed.kubeconfigPath)),
      siteRegistry: sqlSiteRegistry(db.sql),
      metrics: createOperatorMetrics(createMetricsRegistry('operator-test')),
      logger: createLogger('operator-test', 'warn'),
    });
  }

  after(async () => {
    for (const undo of cleanup.reverse()) await undo();
  });

  it('when a Site is created, then sim-<site> runs its simulator, owned by the Site, and the Site reports the rollout', async () => {
    const created = await sites.create('hq', {
      displayName: 'Headquarters',
      zones: 2,
      eventsPerSecond: 4,
      sensors: ['co2', 'temperature'],
    });
    const deployment = await eventually('Deployment sim-hq', () => sites.deployment('sim-hq'));
    const metadata = deployment.metadata!;
    assert.equal(deployment.spec!.replicas, 1);
    assert.deepEqual(JSON.parse(JSON.stringify(metadata.ownerReferences)), [
      {
        apiVersion: 'telemetrypulse.io/v1alpha1',
        kind: 'Site',
        name: 'hq',
        uid: created.metadata?.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.equal(metadata.labels!['app.kubernetes.io/instance'], 'hq');
    assert.equal(metadata.labels!['app.kubernetes.io/managed-by'], 'telemetrypulse-operator');
    const container = deployment.spec!.template.spec!.containers[0]!;
    assert.equal(container.image, 'telemetrypulse/simulator:test');
    assert.equal(env(container.env, 'SITE_ID'), 'hq');
    assert.equal(env(container.env, 'SITE_ZONES'), 'zone-01,zone-02');
    assert.equal(env(container.env, 'EVENTS_PER_SECOND'), '4');
    assert.equal(env(container.env, 'SENSORS'), 'co2,temperature');
    assert.equal(env(container.env, 'KAFKA_BROKERS'), 'redpanda.test:9092');
    assert.equal(env(container.env, 'EVENTS_TOPIC'), 'plant.telemetry');
    assert.equal(env(container.env, 'LOG_LEVEL'), 'debug');
    assert.equal(
      env(container.env, 'OTEL_EXPORTER_OTLP_ENDPOINT'),
      'http://otel-collector.test:4318',
    );
    assert.equal(env(container.env, 'OTEL_SERVICE_NAME'), 'simulator');

    // No kubelet runs the pod, so the rollout waits; and the pull secret does not exist yet.
    await sites.conditionBecomes('hq', 'Progressing', 'True', REASONS.RollingOut);
    await sites.conditionBecomes('hq', 'Degraded', 'True', REASONS.ImagePullSecretMissing);
    const status = (await sites.get('hq')).status!;
    assert.equal(status.deploymentName, 'sim-hq');
    assert.match(status.lastError ?? '', /image pull secret sim-registry not found/);
    assert.ok((await sites.eventReasons('hq')).includes(REASONS.Created));
    // Every reconcile meets the missing secret again: one Event, counted, not one per reconcile.
    const warnings = await eventually('the warning repeated', async () => {
      const found = (await sites.events('hq')).filter(
        (e) => e.reason === REASONS.ImagePullSecretMissing,
      );
      return found.length === 1 && (found[0]!.series?.count ?? 1) >= 2 ? found : undefined;
    });
    assert.equal(warnings[0]!.type, 'Warning');
    assert.equal(warnings[0]!.reportingController, 'telemetrypulse.io/operator');

    // The secret appears and the pod reports ready: the Site becomes Ready.
    await sites.createPullSecret(PULL_SECRET);
    // A change to the Site brings it back at once rather than at the next secret check.
    await sites.patch('hq', { metadata: { labels: { touched: 'yes' } } });
    await eventually('a simulator pod', async () =>
      (await sites.reportPodsReady('hq')) > 0 ? true : undefined,
    );
    await sites.conditionBecomes('hq', 'Ready', 'True', REASONS.Available);
    await sites.conditionBecomes('hq', 'Degraded', 'False', REASONS.AsExpected);
    const ready = await sites.get('hq');
    assert.equal(ready.status!.readyReplicas, 1);
    assert.equal(ready.status!.lastError, '');
    assert.equal(ready.status!.observedGeneration, ready.metadata!.generation);
  });

  it('when events per second change, then the Deployment rolls out the new rate', async () => {
    await sites.create('lab', { eventsPerSecond: 5 });
    await eventually('sim-lab', () => sites.deployment('sim-lab'));
    await sites.patch('lab', { spec: { eventsPerSecond: 12.5 } });
    const updated = await eventually('EVENTS_PER_SECOND=12.5', async () => {
      const d = await sites.deployment('sim-lab');
      const rate = env(d?.spec?.template.spec?.containers[0]?.env, 'EVENTS_PER_SECOND');
      return rate === '12.5' ? d : undefined;
    });
    assert.equal(updated.metadata?.generation, 2);
    assert.ok((await sites.eventReasons('lab')).includes(REASONS.Updated));
  });

  it('when a Site is paused, then its Deployment has 0 replicas and the Site is Ready as Paused', async () => {
    await sites.create('depot', {});
    await eventually('sim-depot', () => sites.deployment('sim-depot'));
    await sites.patch('depot', { spec: { paused: true } });
    await eventually('0 replicas', async () =>
      (await sites.deployment('sim-depot'))?.spec?.replicas === 0 ? true : undefined,
    );
    await sites.conditionBecomes('depot', 'Ready', 'True', REASONS.Paused);
    await sites.patch('depot', { spec: { paused: false } });
    await eventually('1 replica again', async () =>
      (await sites.deployment('sim-depot'))?.spec?.replicas === 1 ? true : undefined,
    );
  });

  it('when someone edits or deletes the Deployment by hand, then the operator restores it', async () => {
    await sites.create('annex', { eventsPerSecond: 3 });
    const original = await eventually('sim-annex', () => sites.deployment('sim-annex'));
    await sites.clients.apps.patchNamespacedDeployment(
      {
        name: 'sim-annex',
        namespace: namespace.name,
        body: {
          spec: {
            replicas: 4,
            template: {
              spec: { containers: [{ name: 'simulator', image: 'someone/else:latest' }] },
            },
          },
        },
        fieldManager: 'kubectl-edit',
      },
      mergePatch,
    );
    await eventually('the hand edit reverted', async () => {
      const d = await sites.deployment('sim-annex');
      const c = d?.spec?.template.spec?.containers[0];
      const reverted =
        d?.spec?.replicas === 1 &&
        c?.image === 'telemetrypulse/simulator:test' &&
        env(c.env, 'EVENTS_PER_SECOND') === '3';
      return reverted ? true : undefined;
    });

    await sites.clients.apps.deleteNamespacedDeployment({
      name: 'sim-annex',
      namespace: namespace.name,
    });
    const recreated = await eventually('sim-annex recreated', async () => {
      const d = await sites.deployment('sim-annex');
      return d && d.metadata?.uid !== original.metadata?.uid ? d : undefined;
    });
    assert.equal(recreated.spec?.replicas, 1);
  });

  it('when a Site is deleted, then the garbage collector removes its Deployment', async () => {
    await sites.create('gone', {});
    await eventually('sim-gone', () => sites.deployment('sim-gone'));
    await sites.delete('gone');
    await eventually('sim-gone garbage-collected', async () =>
      (await sites.deployment('sim-gone')) === undefined ? true : undefined,
    );
  });

  it('when a Site sets alert thresholds, then the registry holds them for the processor, and loses them when the Site goes', async () => {
    await sites.create('plant', { thresholds: { co2: 1200 } });
    const thresholds = async (expected: unknown) => {
      const rows = await db.sql<{ spec: { thresholds?: unknown } }[]>`
        select spec from sites where site_id = 'plant'`;
      try {
        assert.deepEqual(rows[0]?.spec.thresholds, expected);
        return true;
      } catch {
        return undefined;
      }
    };
    await eventually('co2 1200 in the registry', () => thresholds({ co2: 1200 }));
    await sites.patch('plant', { spec: { thresholds: { co2: { threshold: 900, clear: 850 } } } });
    await eventually('co2 900/850 in the registry', () =>
      thresholds({ co2: { threshold: 900, clear: 850 } }),
    );
    await sites.delete('plant');
    await eventually('the spec cleared', async () => {
      const rows = await db.sql<{ spec: object }[]>`select spec from sites where site_id = 'plant'`;
      return rows.length === 1 && Object.keys(rows[0]!.spec).length === 0 ? true : undefined;
    });
  });

  it('when the operator restarts with a renamed events topic and no tracing, then its simulators roll to them', async () => {
    await sites.create('works', {});
    const before = await eventually('sim-works', () => sites.deployment('sim-works'));
    await operator.stop();
    await startWith({
      ...operatorEnv,
      SIMULATOR_EVENTS_TOPIC: 'plant.telemetry.v2',
      // Empty is unset: tracing off.
      SIMULATOR_OTEL_EXPORTER_OTLP_ENDPOINT: '',
    });
    const rolled = await eventually('EVENTS_TOPIC=plant.telemetry.v2', async () => {
      const d = await sites.deployment('sim-works');
      const topic = env(d?.spec?.template.spec?.containers[0]?.env, 'EVENTS_TOPIC');
      return topic === 'plant.telemetry.v2' ? d : undefined;
    });
    assert.ok(rolled.metadata!.generation! > before.metadata!.generation!);
    const vars = rolled.spec!.template.spec!.containers[0]!.env ?? [];
    assert.deepEqual(
      vars.filter((e) => e.name.startsWith('OTEL_')),
      [],
      'server-side apply drops the variables the operator no longer sets',
    );
    assert.equal(env(vars, 'SITE_ID'), 'works');
    assert.equal(env(vars, 'LOG_LEVEL'), 'debug');
  });

  it('when a Site passes the API server but breaks a contract rule, then it is reported InvalidSpec and nothing runs', async () => {
    await sites.create('odd', { thresholds: { co2: { threshold: 1000, clear: 1100 } } });
    const invalid = await sites.conditionBecomes('odd', 'Ready', 'False', REASONS.InvalidSpec);
    assert.match(invalid.message, /clear \(1100\) must be at or below the threshold \(1000\)/);
    await sites.conditionBecomes('odd', 'Degraded', 'True', REASONS.InvalidSpec);
    assert.equal(await sites.deployment('sim-odd'), undefined);
    assert.ok((await sites.eventReasons('odd')).includes(REASONS.InvalidSpec));
  });
});
