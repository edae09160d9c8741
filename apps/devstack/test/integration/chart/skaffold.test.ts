// skaffold.yaml against what it points at (no skaffold binary or Docker engine here): every
// image it builds is an app with a Dockerfile build arg, goes into the chart value the chart
// reads it from, and the API it port-forwards is the Service the chart renders for that release;
// its status check waits long enough for the chart's pods, and its values can upgrade a release
// installed with the defaults.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { findObject, renderChart, type KubeObject } from '../../../src/chart/render.ts';
import { CHART_DIR } from '../../../src/chart/values-schema.ts';
import { parseSkaffoldImage } from '../../../src/images/skaffold-build.ts';
import { NODE_NAME } from '../../../src/node/layout.ts';
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
  deploy: {
    helm: { releases: HelmRelease[] };
    statusCheck?: boolean;
    statusCheckDeadlineSeconds?: number;
    tolerateFailuresUntilDeadline?: boolean;
    [field: string]: unknown;
  };
  portForward: {
    resourceType: string;
    resourceName: string;
    namespace: string;
    port: number;
    localPort: number;
  }[];
  profiles: {
    name: string;
    patches?: { op: string; path: string; value: unknown }[];
    build?: {
      local?: { push?: boolean };
      artifacts: {
        image: string;
        custom: { buildCommand: string; dependencies: { paths: string[] } };
      }[];
    };
    deploy?: {
      kubeContext?: string;
      tolerateFailuresUntilDeadline?: boolean;
      helm: { releases: (HelmRelease & { setValues?: Record<string, unknown> })[] };
    } & Record<string, unknown>;
  }[];
}

const skaffold = parseYaml(
  readFileSync(path.join(REPO_ROOT, 'skaffold.yaml'), 'utf8'),
) as SkaffoldConfig;

/**
 * The fields of `deploy` in skaffold's config schema v4beta11 (DeployConfig in skaffold v2's
 * docs-v2/content/en/schemas/v4beta11.json): skaffold refuses any other, and there is no skaffold
 * binary here to ask.
 */
const DEPLOY_FIELDS = [
  'docker',
  'helm',
  'kpt',
  'kubectl',
  'cloudrun',
  'statusCheck',
  'statusCheckDeadlineSeconds',
  'tolerateFailuresUntilDeadline',
  'kubeContext',
  'logs',
];

interface Probe {
  initialDelaySeconds?: number;
  periodSeconds?: number;
  failureThreshold?: number;
}

/** The longest a startup probe lets a container take before the kubelet restarts it. */
const startupBudget = (probe: Probe | undefined) =>
  probe
    ? (probe.initialDelaySeconds ?? 0) + (probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3)
    : 0;

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
    assert.deepEqual(skaffold.profiles.map((p) => p.name).sort(), [
      'kind',
      'local-node',
      'minikube',
    ]);
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

  it('when the first deploy waits for Redpanda and PostgreSQL, then skaffold tolerates failing pods until a deadline that covers the chart’s startup probes', async () => {
    const deploy = skaffold.deploy;
    assert.deepEqual(
      Object.keys(deploy).filter((field) => !DEPLOY_FIELDS.includes(field)),
      [],
      'fields skaffold v4beta11 does not know',
    );
    for (const profile of skaffold.profiles) {
      for (const patch of profile.patches ?? []) {
        const field = /^\/deploy\/(\w+)/.exec(patch.path)?.[1] ?? '';
        assert.ok(DEPLOY_FIELDS.includes(field), `${profile.name}: ${patch.path}`);
      }
    }
    assert.notEqual(deploy.statusCheck, false);
    assert.equal(deploy.tolerateFailuresUntilDeadline, true);
    const deadline = deploy.statusCheckDeadlineSeconds ?? 600;

    const release = deploy.helm.releases[0];
    assert.ok(release);
    const objects = await renderChart(await ensureHelm(), {
      release: release.name,
      namespace: release.namespace,
      valuesFiles: release.valuesFiles.map((f) => path.join(REPO_ROOT, f)),
    });
    const budget = (kind: string) =>
      Math.max(
        ...objects
          .filter((o) => o.kind === kind)
          .flatMap((o) => {
            const spec = o.spec as {
              template: { spec: { containers: { startupProbe?: Probe }[] } };
            };
            return spec.template.spec.containers.map((c) => startupBudget(c.startupProbe));
          }),
      );
    // The apps start once the infrastructure answers: the slowest of each, one after the other.
    const infrastructure = budget('StatefulSet');
    const apps = budget('Deployment');
    assert.ok(infrastructure >= 120 && apps >= 120, `${infrastructure} s, ${apps} s`);
    assert.ok(
      deadline >= infrastructure + apps,
      `statusCheckDeadlineSeconds ${deadline} < ${infrastructure} s (infrastructure) + ${apps} s (apps)`,
    );
    // skaffold waits for a Deployment only until the smaller of its progressDeadlineSeconds and
    // statusCheckDeadlineSeconds: a shorter progress deadline would cut the wait.
    for (const object of objects.filter((o) => o.kind === 'Deployment')) {
      const progress =
        (object.spec as { progressDeadlineSeconds?: number }).progressDeadlineSeconds ?? 600;
      assert.ok(progress >= deadline, `${object.metadata.name}: ${progress} s < ${deadline} s`);
    }
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

  it('when the local-node profile builds, then each app goes through the custom builder into the chart value that reads it, without a second localhost/ prefix', async () => {
    const profile = skaffold.profiles.find((p) => p.name === 'local-node');
    assert.ok(profile?.build && profile.deploy);
    assert.equal(profile.build.local?.push, false);
    assert.equal(profile.deploy.kubeContext, NODE_NAME);
    assert.equal(profile.deploy.tolerateFailuresUntilDeadline, true);
    assert.deepEqual(
      Object.keys(profile.deploy).filter((field) => !DEPLOY_FIELDS.includes(field)),
      [],
    );
    const release = profile.deploy.helm.releases[0];
    assert.ok(release);
    assert.ok(release.valuesFiles.includes('k8s/node/values.yaml'));
    const values: Record<string, Record<string, Record<string, string>>> = {};
    for (const artifact of profile.build.artifacts) {
      const { app } = parseSkaffoldImage(`${artifact.image}:probe`);
      const [command, script] = artifact.custom.buildCommand.split(' ');
      assert.ok(command && existsSync(path.join(REPO_ROOT, command)), command);
      assert.ok(script && existsSync(path.join(REPO_ROOT, script)), script);
      for (const dependency of artifact.custom.dependencies.paths) {
        assert.ok(existsSync(path.join(REPO_ROOT, dependency)), dependency);
      }
      assert.ok(artifact.custom.dependencies.paths.includes(`apps/${app}/src`));
      const key = templateKey(artifact.image);
      assert.equal(release.setValueTemplates[`${app}.image.repository`], `{{.IMAGE_REPO_${key}}}`);
      assert.equal(release.setValueTemplates[`${app}.image.tag`], `{{.IMAGE_TAG_${key}}}`);
      values[app] = { image: { repository: artifact.image, tag: `skaffold-${app}` } };
    }
    const objects = await renderChart(await ensureHelm(), {
      release: release.name,
      namespace: release.namespace,
      valuesFiles: release.valuesFiles.map((f) => path.join(REPO_ROOT, f)),
      values: {
        ...values,
        global: { imageRegistry: '' },
        redpanda: { console: { enabled: false } },
      },
    });
    assert.deepEqual(release.setValues, {
      'global.imageRegistry': '',
      'redpanda.console.enabled': false,
    });
    for (const app of ['api', 'processor', 'operator']) {
      const deployment = findObject(objects, 'Deployment', `${release.name}-${app}`);
      const spec = deployment.spec as { template: { spec: { containers: { image: string }[] } } };
      assert.equal(
        spec.template.spec.containers[0]?.image,
        `localhost/telemetrypulse/${app}:skaffold-${app}`,
      );
    }
  });
});
