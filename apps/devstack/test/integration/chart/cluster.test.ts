// The chart against a real kube-apiserver (the testbed: etcd, kube-apiserver and
// kube-controller-manager; no kubelet, so no Pod ever runs) with the CRDs of KEDA,
// prometheus-operator and the Site installed:
// - every object of every values file of the matrix passes a server-side dry run;
// - a real `helm install` creates the release, and the operator, run from source with the
//   chart's own environment and the token of the chart's ServiceAccount (so the chart's RBAC is
//   what it gets), turns the chart's Sites into simulator Deployments; upgrade and uninstall too.
// Hooks (migration Job, helm test) are installed with --no-hooks: a Job never completes without
// a kubelet. Their objects are still part of the dry run.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type V1Deployment } from '@kubernetes/client-node';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';
import { createRaw, readRaw, ResourcePaths, type RawObject } from '../../../src/chart/kube-raw.ts';
import { renderChart, runHelm, type KubeObject } from '../../../src/chart/render.ts';
import { CHART_DIR } from '../../../src/chart/values-schema.ts';
import { startChild, type Child } from '../../../src/child.ts';
import { REPO_ROOT } from '../../../src/paths.ts';
import { freePorts, waitFor } from '../../../src/ports.ts';
import { createTestDatabase, type TestDatabase } from '../../../src/test/database.ts';
import {
  createTestNamespace,
  TESTBED_START_TIMEOUT_MS,
  useTestbed,
  type Testbed,
} from '../../../src/test/testbed.ts';
import { fetchCrds } from '../../../src/tools/crds.ts';
import { ensureHelm } from '../../../src/tools/helm.ts';

const MATRIX_DIR = path.join(CHART_DIR, 'ci');
// What a cluster with KEDA and prometheus-operator serves (helm asks the testbed itself on install).
const API_VERSIONS = [
  'keda.sh/v1alpha1/ScaledObject',
  'monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PodMonitor',
  'monitoring.coreos.com/v1/PrometheusRule',
];
const NODE = path.join(REPO_ROOT, 'node_modules', '.bin', 'node');

function yamlObjects(file: string): RawObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => doc.toJS() as RawObject | null)
    .filter((o): o is RawObject => o !== null);
}

async function installCrds(testbed: Testbed): Promise<void> {
  const crds = await fetchCrds();
  const files = [
    path.join(CHART_DIR, 'crds', 'site.yaml'),
    crds.keda.scaledObjects,
    ...crds.prometheusOperator.files.filter((f) =>
      /_(servicemonitors|podmonitors|prometheusrules)\.yaml$/.test(f),
    ),
  ];
  const config = testbed.kubeConfig();
  const paths = new ResourcePaths(config);
  const objects = files.flatMap(yamlObjects);
  for (const object of objects) {
    const response = await createRaw(config, paths, object, { namespace: 'default' });
    // 409: another test file installed it in this shared testbed already.
    if (response.status !== 201 && response.status !== 409) {
      throw new Error(`${object.metadata.name}: ${response.status} ${response.body}`);
    }
  }
  await waitFor(
    'the CRDs to be established',
    async () => {
      for (const object of objects) {
        const crd = (await readRaw(config, paths, object, 'default')) as
          { status?: { conditions?: { type: string; status: string }[] } } | undefined;
        const conditions = crd?.status?.conditions ?? [];
        if (!conditions.some((c) => c.type === 'Established' && c.status === 'True')) return false;
      }
      return true;
    },
    60_000,
  );
}

/** A kubeconfig that authenticates as the ServiceAccount, with a token from the TokenRequest API. */
async function serviceAccountKubeconfig(
  testbed: Testbed,
  namespace: string,
  name: string,
  file: string,
) {
  const core = testbed.kubeConfig().makeApiClient(CoreV1Api);
  const request = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- client-node's model classes are plain data
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const admin = parseYaml(readFileSync(testbed.kubeconfigPath, 'utf8')) as {
    clusters: { name: string; cluster: Record<string, string> }[];
  };
  const cluster = admin.clusters[0];
  assert.ok(cluster && request.status?.token);
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [cluster],
      users: [{ name, user: { token: request.status.token } }],
      contexts: [{ name, context: { cluster: cluster.name, user: name, namespace } }],
      'current-context': name,
    }),
    { mode: 0o600 },
  );
}

describe('Helm chart on a real kube-apiserver', function () {
  this.timeout(TESTBED_START_TIMEOUT_MS);
  let testbed: Testbed;
  let helm: string;

  before(async function () {
    this.timeout(TESTBED_START_TIMEOUT_MS);
    [testbed, helm] = await Promise.all([useTestbed(), ensureHelm()]);
    await installCrds(testbed);
  });

  it('when every values file of the matrix is rendered, then the API server accepts every object in a strict server-side dry run', async () => {
    const config = testbed.kubeConfig();
    const paths = new ResourcePaths(config);
    const namespace = await createTestNamespace(testbed, 'chart-dry');
    const failures: string[] = [];
    let checked = 0;
    try {
      for (const file of readdirSync(MATRIX_DIR).filter((f) => f.endsWith('.yaml'))) {
        const objects = await renderChart(helm, {
          valuesFiles: [path.join(MATRIX_DIR, file)],
          namespace: namespace.name,
          apiVersions: API_VERSIONS,
        });
        for (const object of objects) {
          const response = await createRaw(config, paths, object, {
            namespace: namespace.name,
            dryRun: true,
          });
          checked++;
          // A warning header would also be worth a look, but strict validation makes unknown
          // fields errors already.
          if (response.status !== 201) {
            failures.push(
              `${file}: ${object.kind}/${object.metadata.name}: ${response.status} ${response.body}`,
            );
          }
        }
      }
    } finally {
      await namespace.delete();
    }
    assert.deepEqual(failures, []);
    assert.ok(checked > 100, `only ${checked} objects were checked`);
  });

  it('when an object has a field Kubernetes does not know, then the strict dry run refuses it', async () => {
    const config = testbed.kubeConfig();
    const objects = await renderChart(helm);
    const deployment = objects.find((o) => o.kind === 'Deployment');
    assert.ok(deployment);
    const typo = { ...deployment, spec: { ...(deployment.spec as object), replica: 2 } };
    const response = await createRaw(config, new ResourcePaths(config), typo, {
      namespace: 'default',
      dryRun: true,
    });
    assert.equal(response.status, 400, response.body);
    const status = JSON.parse(response.body) as { message: string };
    assert.match(status.message, /unknown field "spec.replica"/);
  });

  describe('helm install, and the operator with the chart’s configuration and RBAC', () => {
    let namespace: Awaited<ReturnType<typeof createTestNamespace>>;
    let database: TestDatabase;
    let operator: Child | undefined;
    let kubeEnv: NodeJS.ProcessEnv;
    const apps = () => testbed.kubeConfig().makeApiClient(AppsV1Api);
    const simulators = async () => {
      const list = await apps().listNamespacedDeployment({
        namespace: namespace.name,
        labelSelector: 'app.kubernetes.io/component=simulator',
      });
      return list.items;
    };
    const siteNames = (deployments: V1Deployment[]) =>
      deployments.map((d) => d.metadata?.name ?? '').sort();

    before(async () => {
      namespace = await createTestNamespace(testbed, 'chart-install');
      database = await createTestDatabase();
      kubeEnv = { KUBECONFIG: testbed.kubeconfigPath };
    });

    after(async () => {
      await operator?.stop();
      await database.drop();
      await namespace.delete();
    });

    it('when installed without hooks, then the release exists, and the operator reconciles the chart’s Sites into Deployments', async () => {
      const install = await runHelm(
        helm,
        ['install', 'telemetrypulse', CHART_DIR, '--namespace', namespace.name, '--no-hooks'],
        kubeEnv,
      );
      assert.equal(install.code, 0, install.stderr);
      assert.match(
        install.stdout,
        /kubectl -n chart-install-\w+ port-forward svc\/telemetrypulse-api 8000:8000/,
      );

      const core = testbed.kubeConfig().makeApiClient(CoreV1Api);
      for (const name of [
        'telemetrypulse-api',
        'telemetrypulse-processor',
        'telemetrypulse-operator',
      ]) {
        await apps().readNamespacedDeployment({ name, namespace: namespace.name });
      }
      for (const name of ['telemetrypulse-redpanda', 'telemetrypulse-postgresql']) {
        await apps().readNamespacedStatefulSet({ name, namespace: namespace.name });
      }
      const keys = await core.readNamespacedSecret({
        name: 'telemetrypulse-api-keys',
        namespace: namespace.name,
      });
      const generated = Buffer.from(keys.data?.API_KEYS ?? '', 'base64').toString();
      assert.match(generated, /^[A-Za-z0-9]{40}$/, 'a generated write key');
      const custom = testbed.kubeConfig().makeApiClient(CustomObjectsApi);
      const sites = (await custom.listNamespacedCustomObject({
        group: 'telemetrypulse.io',
        version: 'v1alpha1',
        namespace: namespace.name,
        plural: 'sites',
      })) as { items: KubeObject[] };
      assert.deepEqual(sites.items.map((s) => s.metadata.name).sort(), [
        'site-01',
        'site-02',
        'site-03',
      ]);
      assert.deepEqual(await simulators(), [], 'no simulator before the operator runs');

      // The operator as the chart configures it: its Deployment's env, with the values the
      // kubelet would fill in (Secret references, the pod name) resolved here.
      const deployment = await apps().readNamespacedDeployment({
        name: 'telemetrypulse-operator',
        namespace: namespace.name,
      });
      const container = deployment.spec?.template.spec?.containers[0];
      assert.ok(container?.env);
      const env: Record<string, string> = {};
      for (const variable of container.env) {
        if (variable.value !== undefined) env[variable.name] = variable.value;
      }
      assert.equal(env.SIMULATOR_IMAGE, 'telemetrypulse/simulator:0.1.0');
      assert.equal(env.WATCH_NAMESPACE, namespace.name);
      const kubeconfig = path.join(testbed.dir, `operator-${namespace.name}.kubeconfig`);
      await serviceAccountKubeconfig(
        testbed,
        namespace.name,
        'telemetrypulse-operator',
        kubeconfig,
      );
      const [port = 0] = await freePorts(1);
      const logFile = path.join(testbed.dir, 'logs', `operator-${namespace.name}.log`);
      operator = startChild({
        name: 'operator',
        command: NODE,
        args: [path.join(REPO_ROOT, 'apps/operator/src/main.ts')],
        env: {
          PATH: process.env.PATH,
          ...env,
          HTTP_HOST: '127.0.0.1',
          HTTP_PORT: String(port),
          DATABASE_URL: database.url,
          POD_NAME: 'telemetrypulse-operator-test',
          KUBECONFIG: kubeconfig,
        },
        logFile,
      });
      const log = () => readFileSync(logFile, 'utf8').slice(-4000);
      await waitFor(
        'the operator to make sim-site-01..03',
        async () => siteNames(await simulators()).join() === 'sim-site-01,sim-site-02,sim-site-03',
        90_000,
        500,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\noperator log:\n${log()}`);
      });
      for (const sim of await simulators()) {
        const podSpec = sim.spec?.template.spec;
        assert.equal(podSpec?.containers[0]?.image, 'telemetrypulse/simulator:0.1.0');
        const brokers = podSpec.containers[0].env?.find((e) => e.name === 'KAFKA_BROKERS')?.value;
        assert.equal(brokers, `telemetrypulse-redpanda.${namespace.name}.svc.cluster.local:9092`);
        assert.equal(sim.metadata?.ownerReferences?.[0]?.kind, 'Site');
      }
      const forbidden = readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((line) => /forbidden/i.test(line));
      assert.deepEqual(forbidden, [], 'the chart’s RBAC let the operator do its job');
    });

    it('when upgraded with another Site, then the operator adds its simulator; when uninstalled, the simulators go with the Sites', async () => {
      const upgrade = await runHelm(
        helm,
        [
          'upgrade',
          'telemetrypulse',
          CHART_DIR,
          '--namespace',
          namespace.name,
          '--no-hooks',
          '--reuse-values',
          '--set',
          'sites.site-04.zones=2',
          '--set',
          'sites.site-04.eventsPerSecond=1',
        ],
        kubeEnv,
      );
      assert.equal(upgrade.code, 0, upgrade.stderr);
      await waitFor(
        'sim-site-04',
        async () => siteNames(await simulators()).includes('sim-site-04'),
        60_000,
        500,
      );
      const sim = await apps().readNamespacedDeployment({
        name: 'sim-site-04',
        namespace: namespace.name,
      });
      const zones = sim.spec?.template.spec?.containers[0]?.env?.find(
        (e) => e.name === 'SITE_ZONES',
      )?.value;
      assert.equal(zones, 'zone-01,zone-02');

      const uninstall = await runHelm(
        helm,
        ['uninstall', 'telemetrypulse', '--namespace', namespace.name],
        kubeEnv,
      );
      assert.equal(uninstall.code, 0, uninstall.stderr);
      // The controller-manager's garbage collector removes what the Sites owned.
      await waitFor(
        'the simulators to be garbage-collected',
        async () => (await simulators()).length === 0,
        90_000,
        500,
      );
    });
  });
});
