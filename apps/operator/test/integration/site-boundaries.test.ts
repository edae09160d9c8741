// What a Site may not do, on a real API server and controller-manager: run an image outside the
// allowed list, ask for more than the caps, or take a site id a Site in another namespace holds.
// The operator here watches every namespace: its Site names are used by no other test file.
import assert from 'node:assert/strict';
import { createLogger, createMetricsRegistry } from '@telemetrypulse/shared';
import { createTestDatabase, type TestDatabase } from '@telemetrypulse/devstack/test';
import {
  createTestNamespace,
  type Testbed,
  TESTBED_START_TIMEOUT_MS,
  useTestbed,
} from '@telemetrypulse/devstack/test/kube';
import { loadConfig } from '../../src/config.ts';
import { startOperator, type Operator } from '../../src/operator.ts';
import { REASONS } from '../../src/reconcile/reasons.ts';
import { sqlSiteRegistry } from '../../src/reconcile/site-registry.ts';
import { loadKubeConfig, makeClients } from '../../src/runtime/kube.ts';
import { createOperatorMetrics } from '../../src/runtime/metrics.ts';
import { eventually, installSiteCrd, SiteClient } from './kube.ts';

function rateOf(deployment: Awaited<ReturnType<SiteClient['deployment']>>): string | undefined {
  const env = deployment?.spec?.template.spec?.containers[0]?.env;
  return env?.find((e) => e.name === 'EVENTS_PER_SECOND')?.value;
}

describe('operator: what a Site may not do (real API server)', function () {
  let testbed: Testbed;
  let first: SiteClient;
  let second: SiteClient;
  let db: TestDatabase;
  let operator: Operator | undefined;
  const cleanup: (() => Promise<void>)[] = [];

  async function startTheOperator(): Promise<void> {
    const config = loadConfig({
      KUBECONFIG: testbed.kubeconfigPath,
      // Every namespace: Sites of one name in two namespaces meet.
      WATCH_NAMESPACE: '',
      LEADER_ELECTION: 'false',
      SIMULATOR_IMAGE: 'telemetrypulse/simulator:test',
      SITE_MAX_CPU: '500m',
      SITE_MAX_EVENTS_PER_SECOND: '100',
      POD_NAME: 'operator-boundaries-test',
    });
    operator = await startOperator(config, {
      clients: makeClients(loadKubeConfig(testbed.kubeconfigPath)),
      siteRegistry: sqlSiteRegistry(db.sql),
      metrics: createOperatorMetrics(createMetricsRegistry('operator-boundaries-test')),
      logger: createLogger('operator-boundaries-test', 'error'),
    });
  }

  before(async function () {
    this.timeout(TESTBED_START_TIMEOUT_MS);
    testbed = await useTestbed();
    await installSiteCrd(testbed.kubeConfig());
    const [a, b] = [
      await createTestNamespace(testbed, 'boundaries-a'),
      await createTestNamespace(testbed, 'boundaries-b'),
    ];
    cleanup.push(
      () => a.delete(),
      () => b.delete(),
    );
    first = new SiteClient(testbed.kubeConfig(), a.name);
    second = new SiteClient(testbed.kubeConfig(), b.name);
    db = await createTestDatabase();
    cleanup.push(() => db.drop());
    await startTheOperator();
    cleanup.push(async () => {
      await operator?.stop();
    });
  });

  after(async () => {
    for (const undo of cleanup.reverse()) await undo();
  });

  it('when a Site names an image outside the allowed list, then it is refused with ImageNotAllowed and a Warning, and nothing runs', async () => {
    await first.create('miner', { simulator: { image: 'attacker/miner:latest' } });
    const ready = await first.conditionBecomes('miner', 'Ready', 'False', REASONS.ImageNotAllowed);
    assert.match(
      ready.message,
      /^spec\.simulator\.image attacker\/miner:latest is not allowed by SITE_ALLOWED_IMAGES .*: telemetrypulse\/simulator$/,
    );
    await first.conditionBecomes('miner', 'Degraded', 'True', REASONS.ImageNotAllowed);
    assert.equal(await first.deployment('sim-miner'), undefined);
    const warning = (await first.events('miner')).find((e) => e.reason === REASONS.ImageNotAllowed);
    assert.equal(warning?.type, 'Warning');

    // A look-alike repository is no better; the allowed one with any tag runs.
    await first.patch('miner', {
      spec: { simulator: { image: 'telemetrypulse/simulator-debug:test' } },
    });
    await first.conditionBecomes('miner', 'Ready', 'False', REASONS.ImageNotAllowed);
    await first.patch('miner', {
      spec: { simulator: { image: 'telemetrypulse/simulator:0.2.0' } },
    });
    const allowed = await eventually('sim-miner', () => first.deployment('sim-miner'));
    assert.equal(
      allowed.spec?.template.spec?.containers[0]?.image,
      'telemetrypulse/simulator:0.2.0',
    );
  });

  it('when a running Site is changed above a cap, then its Deployment is held at 0 replicas with the last accepted spec until the Site is corrected', async () => {
    await first.create('foundry', { eventsPerSecond: 5 });
    await eventually('sim-foundry running at 5/s', async () => {
      const d = await first.deployment('sim-foundry');
      return d?.spec?.replicas === 1 && rateOf(d) === '5' ? d : undefined;
    });

    await first.patch('foundry', {
      spec: { eventsPerSecond: 500, simulator: { resources: { limits: { cpu: 2 } } } },
    });
    const refused = await first.conditionBecomes(
      'foundry',
      'Ready',
      'False',
      REASONS.ResourcesAboveLimit,
    );
    assert.match(refused.message, /limits\.cpu 2 is above SITE_MAX_CPU .*\(500m\)/);
    assert.match(refused.message, /spec\.eventsPerSecond 500 is above SITE_MAX_EVENTS_PER_SECOND/);
    assert.match(refused.message, /Deployment sim-foundry is held at 0 replicas$/);
    const held = await first.deployment('sim-foundry');
    assert.equal(held?.spec?.replicas, 0);
    assert.equal(rateOf(held), '5', 'the last accepted spec stays');
    assert.ok((await first.eventReasons('foundry')).includes(REASONS.ResourcesAboveLimit));

    await first.patch('foundry', { spec: { eventsPerSecond: 50, simulator: null } });
    await eventually('sim-foundry back at 50/s', async () => {
      const d = await first.deployment('sim-foundry');
      return d?.spec?.replicas === 1 && rateOf(d) === '50' ? d : undefined;
    });
  });

  it('when two namespaces hold a Site of the same name, then the older keeps the site id, even across a restart, and the other runs nothing and writes no thresholds until the older is gone', async () => {
    const thresholds = async () => {
      const rows = await db.sql<{ spec: { thresholds?: { co2?: number } } }[]>`
        select spec from sites where site_id = 'twin'`;
      return rows[0]?.spec.thresholds?.co2;
    };
    await first.create('twin', { thresholds: { co2: 1100 } });
    await eventually('sim-twin in the first namespace', () => first.deployment('sim-twin'));
    await eventually('co2 1100 in the registry', async () =>
      (await thresholds()) === 1100 ? true : undefined,
    );

    await second.create('twin', { thresholds: { co2: 1500 } });
    const duplicate = await second.conditionBecomes(
      'twin',
      'Ready',
      'False',
      REASONS.DuplicateSiteId,
    );
    assert.match(
      duplicate.message,
      new RegExp(`in namespace ${first.namespace} \\(created earlier\\)`),
    );
    assert.equal(await second.deployment('sim-twin'), undefined);
    assert.equal(await thresholds(), 1100);
    assert.ok((await second.eventReasons('twin')).includes(REASONS.DuplicateSiteId));

    // Both change while no operator runs; the restarted one comes to the same answer.
    await operator?.stop();
    operator = undefined;
    await second.patch('twin', { spec: { thresholds: { co2: 1600 } } });
    await first.patch('twin', { spec: { eventsPerSecond: 6 } });
    await startTheOperator();
    await second.conditionBecomes('twin', 'Ready', 'False', REASONS.DuplicateSiteId);
    await eventually('the first twin running at its new rate', async () => {
      const d = await first.deployment('sim-twin');
      return d?.spec?.replicas === 1 && rateOf(d) === '6' ? true : undefined;
    });
    assert.equal(await second.deployment('sim-twin'), undefined);
    assert.equal(await thresholds(), 1100);

    // The holder goes: the other Site takes the id, runs and brings its thresholds.
    await first.delete('twin');
    await eventually('sim-twin in the second namespace', () => second.deployment('sim-twin'));
    await eventually('co2 1600 in the registry', async () =>
      (await thresholds()) === 1600 ? true : undefined,
    );
  });
});
