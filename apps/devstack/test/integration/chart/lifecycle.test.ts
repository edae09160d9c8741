// The release's life on a real kube-apiserver (the testbed; no kubelet, so no Pod runs and
// releases are installed with --no-hooks): the documented order `helm install` then
// `skaffold dev` (an upgrade with values-dev.yaml).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AppsV1Api } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { runHelm } from '../../../src/chart/render.ts';
import { CHART_DIR } from '../../../src/chart/values-schema.ts';
import { REPO_ROOT } from '../../../src/paths.ts';
import {
  createTestNamespace,
  TESTBED_START_TIMEOUT_MS,
  useTestbed,
  type Testbed,
  type TestNamespace,
} from '../../../src/test/testbed.ts';
import { ensureHelm } from '../../../src/tools/helm.ts';

const RELEASE = 'telemetrypulse';

interface SkaffoldRelease {
  valuesFiles: string[];
  setValueTemplates: Record<string, string>;
}

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

  describe('helm install, then skaffold dev', () => {
    let namespace: TestNamespace;
    before(async () => {
      namespace = await createTestNamespace(testbed, 'chart-dev');
    });
    after(async () => {
      await namespace.delete();
    });

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
});
