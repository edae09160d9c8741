// The release's life on a real kube-apiserver (the testbed; no kubelet, so no Pod runs and
// releases are installed with --no-hooks): what survives `helm uninstall` and a reinstall, and
// the documented order `helm install` then `skaffold dev` (an upgrade with values-dev.yaml).
// helm's `lookup` only sees objects on a real API server, so these cannot be render tests.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { runHelm } from '../../../src/chart/render.ts';
import { CHART_DIR } from '../../../src/chart/values-schema.ts';
import { REPO_ROOT } from '../../../src/paths.ts';
import { waitFor } from '../../../src/ports.ts';
import {
  type Testbed,
  TESTBED_START_TIMEOUT_MS,
  useTestbed,
  useTestNamespace,
} from '../../../src/test/testbed.ts';
import { ensureHelm } from '../../../src/tools/helm.ts';

const RELEASE = 'telemetrypulse';

interface SkaffoldRelease {
  valuesFiles: string[];
  setValueTemplates: Record<string, string>;
}

/** `helm install` of the chart checked by the API server without creating anything. */
const DRY_RUN_INSTALL = [
  'install',
  RELEASE,
  CHART_DIR,
  '--namespace',
  'default',
  '--dry-run=server',
];

/** `helm upgrade` as skaffold.yaml's release runs it, with stand-ins for the built images. */
function skaffoldUpgradeArgs(namespace: string): string[] {
  const skaffold = parseYaml(readFileSync(path.join(REPO_ROOT, 'skaffold.yaml'), 'utf8')) as {
    deploy: { helm: { releases: SkaffoldRelease[] } };
  };
  const release = skaffold.deploy.helm.releases[0];
  assert.ok(release);
  const sets = Object.keys(release.setValueTemplates).map((key) =>
    key.endsWith('.tag') ? `${key}=skaffold-dev` : `${key}=dev.local/${key.split('.')[0]}`,
  );
  return [
    'upgrade',
    RELEASE,
    CHART_DIR,
    '--namespace',
    namespace,
    '--no-hooks',
    ...release.valuesFiles.flatMap((file) => ['-f', path.join(REPO_ROOT, file)]),
    ...sets.flatMap((set) => ['--set', set]),
  ];
}

describe('Helm chart: install, upgrade, uninstall and reinstall on a real kube-apiserver', function () {
  this.timeout(TESTBED_START_TIMEOUT_MS);
  let testbed: Testbed;
  let helm: string;
  let kubeEnv: NodeJS.ProcessEnv;

  before(async function () {
    this.timeout(TESTBED_START_TIMEOUT_MS);
    [testbed, helm] = await Promise.all([useTestbed(), ensureHelm()]);
    kubeEnv = { KUBECONFIG: testbed.kubeconfigPath };
  });

  const helmOk = async (args: string[]) => {
    const result = await runHelm(helm, args, kubeEnv);
    assert.equal(result.code, 0, `helm ${args.join(' ')}:\n${result.stderr}`);
    return result;
  };

  it('when networkPolicy.apiFrom is set without metricsFrom, then the install notes say it leaves the API open', async () => {
    const args = (extra: string[]) => [
      ...DRY_RUN_INSTALL,
      '--set-json',
      'networkPolicy.apiFrom=[{"namespaceSelector":{}}]',
      '--set-json',
      'networkPolicy.metricsFrom=[]',
      // No Sites: a dry run does not install the CRD they need.
      '--set-json',
      'sites={"site-01":null,"site-02":null,"site-03":null}',
      ...extra,
    ];
    const alone = await helmOk(args([]));
    assert.match(alone.stdout, /networkPolicy\.apiFrom does not restrict the API's port/);
    const both = await helmOk(
      args(['--set-json', 'networkPolicy.metricsFrom=[{"namespaceSelector":{}}]']),
    );
    assert.doesNotMatch(both.stdout, /does not restrict/);
  });

  it('when the database is external, then the install notes give the connections its max_connections must allow', async () => {
    const result = await helmOk([
      ...DRY_RUN_INSTALL,
      '-f',
      path.join(CHART_DIR, 'ci', 'external-infra-values.yaml'),
      '--set-json',
      'sites={"site-01":null,"site-02":null,"site-03":null}',
    ]);
    // 10 x (12 + 3) processor, 10 x (2 + 1) API, 2 x (1 + 1) operator, 2 migration Job.
    assert.match(result.stdout, /the apps hold up to 186\s+connections at once/);
  });

  describe('uninstall and reinstall', () => {
    const namespace = useTestNamespace('chart-reinstall');

    const secretData = async (name: string) => {
      const core = testbed.kubeConfig().makeApiClient(CoreV1Api);
      const secret = await core.readNamespacedSecret({
        name,
        namespace: namespace.name,
      });
      return Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
      );
    };
    const install = () =>
      helmOk(['install', RELEASE, CHART_DIR, '--namespace', namespace.name, '--no-hooks']);

    it('when the release is uninstalled and installed again, then PostgreSQL’s password and the API key are the ones first generated, which the kept volume was initialised with', async () => {
      await install();
      const database = await secretData('telemetrypulse-postgresql');
      const keys = await secretData('telemetrypulse-api-keys');
      assert.match(database.POSTGRES_PASSWORD ?? '', /^[A-Za-z0-9]{32}$/);
      assert.match(keys.API_KEYS ?? '', /^[A-Za-z0-9]{40}$/);
      // The StatefulSet controller makes the claims (they stay Pending: the testbed has no storage).
      const core = testbed.kubeConfig().makeApiClient(CoreV1Api);
      const claims = ['data-telemetrypulse-postgresql-0', 'data-telemetrypulse-redpanda-0'];
      // k8s/README.md's clean-up after an uninstall selects what was kept by this label.
      const labelSelector = `app.kubernetes.io/instance=${RELEASE}`;
      const claimNames = async () =>
        (
          await core.listNamespacedPersistentVolumeClaim({
            namespace: namespace.name,
            labelSelector,
          })
        ).items
          .map((c) => c.metadata?.name ?? '')
          .sort();
      await waitFor(
        'the StatefulSets’ PersistentVolumeClaims',
        async () => (await claimNames()).join() === claims.join(),
        60_000,
        500,
      );

      await helmOk(['uninstall', RELEASE, '--namespace', namespace.name, '--wait']);
      const apps = testbed.kubeConfig().makeApiClient(AppsV1Api);
      const sets = await apps.listNamespacedStatefulSet({
        namespace: namespace.name,
      });
      assert.deepEqual(sets.items, [], 'the release is gone');
      // What Helm keeps by design: the PVCs (StatefulSets never delete theirs) and the Secrets
      // with generated credentials; nothing else of the release.
      assert.deepEqual(await claimNames(), claims);
      const secrets = await core.listNamespacedSecret({
        namespace: namespace.name,
        labelSelector,
      });
      assert.deepEqual(secrets.items.map((s) => s.metadata?.name).sort(), [
        'telemetrypulse-api-keys',
        'telemetrypulse-postgresql',
      ]);
      assert.deepEqual(await secretData('telemetrypulse-postgresql'), database);
      assert.deepEqual(await secretData('telemetrypulse-api-keys'), keys);

      await install();
      assert.deepEqual(await secretData('telemetrypulse-postgresql'), database);
      assert.deepEqual(await secretData('telemetrypulse-api-keys'), keys);
      // The reinstalled release owns the Secrets again: a later upgrade still finds and keeps them.
      const manifest = await helmOk(['get', 'manifest', RELEASE, '--namespace', namespace.name]);
      assert.match(manifest.stdout, /name: telemetrypulse-postgresql\n/);
      assert.match(manifest.stdout, /name: telemetrypulse-api-keys\n/);
      await helmOk([
        'upgrade',
        RELEASE,
        CHART_DIR,
        '--namespace',
        namespace.name,
        '--no-hooks',
        '--reuse-values',
      ]);
      assert.deepEqual(await secretData('telemetrypulse-postgresql'), database);
      assert.deepEqual(await secretData('telemetrypulse-api-keys'), keys);
    });
  });

  describe('helm install, then skaffold dev', () => {
    const namespace = useTestNamespace('chart-dev');

    it('when installed with the defaults and then upgraded as skaffold deploys (values-dev.yaml), then the API server accepts the StatefulSets’ changes', async () => {
      await helmOk(['install', RELEASE, CHART_DIR, '--namespace', namespace.name, '--no-hooks']);
      const upgrade = await runHelm(helm, skaffoldUpgradeArgs(namespace.name), kubeEnv);
      assert.equal(upgrade.code, 0, upgrade.stderr);
      const apps = testbed.kubeConfig().makeApiClient(AppsV1Api);
      const api = await apps.readNamespacedDeployment({
        name: 'telemetrypulse-api',
        namespace: namespace.name,
      });
      assert.equal(api.spec?.replicas, 1, 'values-dev.yaml was applied');
      assert.equal(
        api.spec.template.spec?.containers[0]?.image,
        'dev.local/api:skaffold-dev',
        'the image skaffold built',
      );
    });
  });

  describe('helm upgrade --reuse-values from a chart without the drain', () => {
    const namespace = useTestNamespace('chart-reuse');

    it('when the earlier release had no api.preStopSleepSeconds, then the upgraded API still waits 5 s in preStop', async () => {
      // The chart as it was before the key: --reuse-values keeps that release's values, and
      // none of the new chart's defaults, so the key is absent when the new templates render.
      const older = mkdtempSync(path.join(tmpdir(), 'chart-before-drain-'));
      try {
        cpSync(CHART_DIR, older, { recursive: true });
        const valuesFile = path.join(older, 'values.yaml');
        const values = readFileSync(valuesFile, 'utf8');
        assert.match(values, /\n {2}preStopSleepSeconds: 5\n/);
        writeFileSync(valuesFile, values.replace(/\n {2}preStopSleepSeconds: 5\n/, '\n'));
        await helmOk(['install', RELEASE, older, '--namespace', namespace.name, '--no-hooks']);
      } finally {
        rmSync(older, { recursive: true, force: true });
      }
      await helmOk([
        'upgrade',
        RELEASE,
        CHART_DIR,
        '--namespace',
        namespace.name,
        '--no-hooks',
        '--reuse-values',
      ]);
      const apps = testbed.kubeConfig().makeApiClient(AppsV1Api);
      const api = await apps.readNamespacedDeployment({
        name: 'telemetrypulse-api',
        namespace: namespace.name,
      });
      const pod = api.spec?.template.spec;
      assert.ok(pod);
      assert.equal(pod.containers[0]?.lifecycle?.preStop?.sleep?.seconds, 5);
      assert.equal(pod.terminationGracePeriodSeconds, 35);
      assert.equal(api.spec?.strategy?.rollingUpdate?.maxUnavailable, 0);
    });
  });
});
