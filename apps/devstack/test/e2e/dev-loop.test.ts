// The dev loop on the real node: what `skaffold dev -p local-node` does, replayed from
// skaffold.yaml (skaffold itself cannot be had here). Each cycle runs the profile's custom build
// command per artifact with the IMAGE and PUSH_IMAGE skaffold sets, deploys the release with
// `helm upgrade --install` and the image overrides skaffold templates in, waits for the rollout
// with the simulators on the new image, then uninstalls as skaffold's cleanup does. The second
// cycle is a reinstall with a new tag, as after a change.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../src/paths.ts';
import { waitFor } from '../../src/ports.ts';
import { failureReport, nodeTools, type NodeTools } from './support.ts';

const run = promisify(execFile);

interface Release {
  name: string;
  chartPath: string;
  namespace: string;
  valuesFiles: string[];
  createNamespace?: boolean;
  setValues?: Record<string, string | boolean | number>;
  setValueTemplates: Record<string, string>;
}
interface Profile {
  name: string;
  build: { artifacts: { image: string; custom: { buildCommand: string } }[] };
  deploy: { kubeContext: string; helm: { releases: Release[] } };
}

const skaffold = parse(readFileSync(path.join(REPO_ROOT, 'skaffold.yaml'), 'utf8')) as {
  profiles: Profile[];
};
const profile = skaffold.profiles.find((p) => p.name === 'local-node');
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** skaffold's {{.IMAGE_REPO_x}} / {{.IMAGE_TAG_x}} for the images it built. */
function renderTemplate(template: string, built: Map<string, string>): string {
  return template.replace(/\{\{\.IMAGE_(REPO|TAG)_(\w+)\}\}/g, (_, part: string, key: string) => {
    const image = [...built.keys()].find((name) => name.replace(/[^A-Za-z0-9]/g, '_') === key);
    if (!image) throw new Error(`no artifact for ${key}`);
    return part === 'REPO' ? image : (built.get(image) ?? '');
  });
}

describe('the dev loop on a real node (skaffold dev -p local-node, replayed)', function () {
  let tools: NodeTools;
  let installedIn: string | undefined;

  before(async function () {
    assert.ok(profile, 'skaffold.yaml has a local-node profile');
    tools = await nodeTools();
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && installedIn) {
      console.log(await failureReport(tools, installedIn));
    }
  });

  after(async function () {
    const release = profile?.deploy.helm.releases[0];
    if (installedIn && release) {
      await tools
        .helm(['uninstall', release.name, '-n', installedIn, '--wait', '--timeout', '3m'])
        .catch(() => undefined);
    }
  });

  for (const cycle of [1, 2]) {
    it(`when cycle ${cycle} runs, then the built images are deployed, roll out and are cleaned up`, async function () {
      assert.ok(profile);
      const release = profile.deploy.helm.releases[0];
      assert.ok(release);
      const tag = `loop-${cycle}-${Date.now().toString(36)}`;

      let started = Date.now();
      const built = new Map<string, string>();
      for (const artifact of profile.build.artifacts) {
        const [command = '', ...args] = artifact.custom.buildCommand.split(' ');
        await run(path.join(REPO_ROOT, command), args, {
          cwd: REPO_ROOT,
          env: {
            ...process.env,
            IMAGE: `${artifact.image}:${tag}`,
            PUSH_IMAGE: 'false',
            BUILD_CONTEXT: REPO_ROOT,
          },
          timeout: 10 * 60_000,
        });
        built.set(artifact.image, tag);
      }
      console.log(`    cycle ${cycle} build and load: ${seconds(started)}`);

      started = Date.now();
      const sets = [
        ...Object.entries(release.setValues ?? {}).map(([key, value]) => `${key}=${String(value)}`),
        ...Object.entries(release.setValueTemplates).map(
          ([key, template]) => `${key}=${renderTemplate(template, built)}`,
        ),
      ];
      await tools.helm(
        [
          'upgrade',
          '--install',
          release.name,
          path.join(REPO_ROOT, release.chartPath),
          '--kube-context',
          profile.deploy.kubeContext,
          '-n',
          release.namespace,
          ...(release.createNamespace === false ? [] : ['--create-namespace']),
          ...release.valuesFiles.flatMap((file) => ['-f', path.join(REPO_ROOT, file)]),
          ...sets.flatMap((set) => ['--set', set]),
          '--wait',
          '--timeout',
          '10m',
        ],
        { timeoutMs: 11 * 60_000 },
      );
      installedIn = release.namespace;
      const images = async () =>
        (
          JSON.parse(
            await tools.kubectl(['-n', release.namespace, 'get', 'deployments', '-o', 'json']),
          ) as {
            items: {
              metadata: { name: string };
              spec: { template: { spec: { containers: { image: string }[] } } };
              status?: { readyReplicas?: number };
            }[];
          }
        ).items.map((d) => ({
          name: d.metadata.name,
          image: d.spec.template.spec.containers[0]?.image ?? '',
          ready: (d.status?.readyReplicas ?? 0) > 0,
        }));
      await waitFor(
        'every Deployment (the simulators too) Ready on the images just built',
        async () => {
          const found = await images();
          return (
            found.some((d) => d.name.startsWith('sim-')) &&
            found.every((d) => d.ready && d.image.endsWith(`:${tag}`))
          );
        },
        5 * 60_000,
        2000,
      );
      console.log(`    cycle ${cycle} deploy and rollout: ${seconds(started)}`);
      for (const deployment of await images()) {
        assert.ok(deployment.image.startsWith('localhost/telemetrypulse/'), deployment.image);
      }

      started = Date.now();
      await tools.helm(
        ['uninstall', release.name, '-n', release.namespace, '--wait', '--timeout', '5m'],
        { timeoutMs: 6 * 60_000 },
      );
      installedIn = undefined;
      console.log(`    cycle ${cycle} cleanup: ${seconds(started)}`);
    });
  }
});
