// skaffold.yaml against what it points at (no skaffold binary or Docker engine here): every
// image it builds is an app with a Dockerfile build arg, goes into the chart value the chart
// reads it from, and the API it port-forwards is the Service the chart renders for that release.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { findObject, renderChart, type KubeObject } from '../../../src/chart/render.ts';
import { CHART_DIR } from '../../../src/chart/values-schema.ts';
import { REPO_ROOT } from '../../../src/paths.ts';
import { ensureHelm } from '../../../src/tools/helm.ts';

interface HelmRelease {
  name: string;
  chartPath: string;
  namespace: string;
  valuesFiles: string[];
  setValueTemplates: Record<string, string>;
}
interface SkaffoldConfig {
  apiVersion: string;
  build: {
    artifacts: { image: string; docker: { dockerfile: string; buildArgs: { APP: string } } }[];
  };
  deploy: { helm: { releases: HelmRelease[] } };
  portForward: {
    resourceType: string;
    resourceName: string;
    namespace: string;
    port: number;
    localPort: number;
  }[];
  profiles: { name: string; patches: { op: string; path: string; value: unknown }[] }[];
}

const skaffold = parseYaml(
  readFileSync(path.join(REPO_ROOT, 'skaffold.yaml'), 'utf8'),
) as SkaffoldConfig;

/** skaffold's IMAGE_REPO_/IMAGE_TAG_ suffix for an image name. */
const templateKey = (image: string) => image.replace(/[^A-Za-z0-9]/g, '_');

describe('skaffold.yaml', function () {
  this.timeout(20 * 60_000);

  it('builds the four apps from the one Dockerfile', () => {
    const apps = skaffold.build.artifacts.map((a) => a.docker.buildArgs.APP).sort();
    assert.deepEqual(apps, ['api', 'operator', 'processor', 'simulator']);
    for (const artifact of skaffold.build.artifacts) {
      assert.equal(artifact.image, `telemetrypulse/${artifact.docker.buildArgs.APP}`);
      assert.ok(existsSync(path.join(REPO_ROOT, artifact.docker.dockerfile)));
      assert.ok(
        existsSync(path.join(REPO_ROOT, 'apps', artifact.docker.buildArgs.APP, 'src', 'main.ts')),
      );
    }
    assert.deepEqual(skaffold.profiles.map((p) => p.name).sort(), ['kind', 'minikube']);
  });

  it('when deployed, then the chart runs the images skaffold built, and the API it forwards exists', async () => {
    const release = skaffold.deploy.helm.releases[0];
    assert.ok(release);
    assert.equal(path.resolve(REPO_ROOT, release.chartPath), CHART_DIR);
    // Stand-ins for what skaffold substitutes into the templates.
    const values: Record<string, Record<string, Record<string, string>>> = {};
    for (const artifact of skaffold.build.artifacts) {
      const key = templateKey(artifact.image);
      const app = artifact.docker.buildArgs.APP;
      assert.equal(release.setValueTemplates[`${app}.image.repository`], `{{.IMAGE_REPO_${key}}}`);
      assert.equal(release.setValueTemplates[`${app}.image.tag`], `{{.IMAGE_TAG_${key}}}`);
      values[app] = { image: { repository: `dev.local/${app}`, tag: `skaffold-${app}` } };
    }
    const objects = await renderChart(await ensureHelm(), {
      release: release.name,
      namespace: release.namespace,
      valuesFiles: release.valuesFiles.map((f) => path.join(REPO_ROOT, f)),
      values,
    });
    for (const app of ['api', 'processor', 'operator']) {
      const deployment = findObject(objects, 'Deployment', `${release.name}-${app}`);
      const spec = deployment.spec as {
        template: {
          spec: { containers: { image: string; env?: { name: string; value?: string }[] }[] };
        };
      };
      assert.equal(spec.template.spec.containers[0]?.image, `dev.local/${app}:skaffold-${app}`);
      if (app === 'operator') {
        const simulatorImage = spec.template.spec.containers[0].env?.find(
          (e) => e.name === 'SIMULATOR_IMAGE',
        );
        assert.equal(simulatorImage?.value, 'dev.local/simulator:skaffold-simulator');
      }
    }
    const forward = skaffold.portForward[0];
    assert.ok(forward);
    const service = findObject(objects, 'Service', forward.resourceName);
    const ports = (service.spec as { ports: { port: number }[] }).ports.map((p) => p.port);
    assert.ok(
      ports.includes(forward.port),
      `Service ${forward.resourceName} has no port ${forward.port}`,
    );
    assert.equal(forward.namespace, release.namespace);
  });

  it('when skaffold upgrades a release installed with the defaults, then no StatefulSet field the API server refuses to change differs (volumeClaimTemplates)', async () => {
    const release = skaffold.deploy.helm.releases[0];
    assert.ok(release);
    const helm = await ensureHelm();
    const render = (valuesFiles: string[]) =>
      renderChart(helm, { release: release.name, namespace: release.namespace, valuesFiles });
    const installed = await render([]);
    const dev = await render(release.valuesFiles.map((f) => path.join(REPO_ROOT, f)));
    // What apps/v1 lets an update change; every other spec field is immutable.
    const mutable = [
      'replicas',
      'ordinals',
      'template',
      'updateStrategy',
      'revisionHistoryLimit',
      'persistentVolumeClaimRetentionPolicy',
      'minReadySeconds',
    ];
    const immutable = (object: KubeObject) =>
      Object.fromEntries(
        Object.entries(object.spec as Record<string, unknown>).filter(
          ([field]) => !mutable.includes(field),
        ),
      );
    const sets = installed.filter((o) => o.kind === 'StatefulSet');
    assert.deepEqual(sets.map((s) => s.metadata.name).sort(), [
      `${release.name}-postgresql`,
      `${release.name}-redpanda`,
    ]);
    for (const set of sets) {
      const devSet = findObject(dev, 'StatefulSet', set.metadata.name);
      assert.ok('volumeClaimTemplates' in immutable(set));
      assert.deepEqual(immutable(devSet), immutable(set), set.metadata.name);
    }
  });
});
