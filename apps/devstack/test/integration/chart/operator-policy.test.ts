// What Sites may ask of the operator, as the chart configures it: rendered with the real helm
// binary, then read by the operator's own config and policy, so the chart's defaults allow its
// own simulator image and Sites, and its values reach the operator.
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseSite, type Site } from '@telemetrypulse/shared';
import {
  loadConfig,
  policyProblem,
  simulatorDefaults,
  simulatorResources,
  sitePolicy,
} from '@telemetrypulse/operator/testing';
import { findObject, renderChart, type KubeObject } from '../../../src/chart/render.ts';
import { CHART_DIR } from '../../../src/chart/values-schema.ts';
import { ensureHelm } from '../../../src/tools/helm.ts';

interface EnvVar {
  name: string;
  value?: string;
}

/** The rendered operator's policy: its config, as the operator reads it from its env. */
function operatorConfig(objects: KubeObject[]) {
  const object = findObject(objects, 'Deployment', 'telemetrypulse-operator');
  const spec = object.spec as { template: { spec: { containers: { env?: EnvVar[] }[] } } };
  const vars = spec.template.spec.containers[0]?.env ?? [];
  const plain = Object.fromEntries(
    vars.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
  );
  // Set from the pod (fieldRef) in the cluster.
  return loadConfig({ ...plain, POD_NAME: 'operator-0' });
}

/** The refusal the rendered operator would give a Site, or undefined when it runs it. */
function refusal(config: ReturnType<typeof loadConfig>, site: Site) {
  return policyProblem(
    site,
    simulatorResources(site, simulatorDefaults(config)),
    sitePolicy(config),
  );
}

function siteWith(spec: Record<string, unknown>): Site {
  return parseSite({
    apiVersion: 'telemetrypulse.io/v1alpha1',
    kind: 'Site',
    metadata: { name: 'site-01' },
    spec,
  });
}

describe('Helm chart: what Sites may ask of the operator', function () {
  this.timeout(10 * 60_000);
  let helm: string;

  before(async () => {
    helm = await ensureHelm();
  });

  it("when rendered with the defaults, then Sites may run the chart's simulator repository, within 1 cpu, 1Gi and 1000 events/s", async () => {
    const config = operatorConfig(await renderChart(helm));
    const chartImage = config.SIMULATOR_IMAGE;
    assert.match(chartImage, /^telemetrypulse\/simulator:/);
    assert.deepEqual(config.SITE_ALLOWED_IMAGES, ['telemetrypulse/simulator']);
    assert.equal(refusal(config, siteWith({})), undefined);
    assert.equal(refusal(config, siteWith({ simulator: { image: chartImage } })), undefined);
    assert.equal(
      refusal(config, siteWith({ simulator: { image: 'someone/else:1' } }))?.reason,
      'ImageNotAllowed',
    );
    assert.equal(
      refusal(config, siteWith({ eventsPerSecond: 1001 }))?.reason,
      'ResourcesAboveLimit',
    );
    assert.equal(config.SITE_MAX_CPU, '1');
    assert.equal(config.SITE_MAX_MEMORY, '1Gi');
  });

  it("when the chart's CI values define Sites, then the rendered operator refuses none of them", async () => {
    const objects = await renderChart(helm, {
      valuesFiles: [path.join(CHART_DIR, 'ci', 'sites-values.yaml')],
    });
    const config = operatorConfig(objects);
    const sites = objects.filter((o) => o.kind === 'Site').map((o) => parseSite(o));
    assert.ok(sites.length >= 3);
    assert.deepEqual(
      sites.map((site) => refusal(config, site)).filter((p) => p !== undefined),
      [],
    );
  });

  it('when an image registry, allowed images and Site limits are set, then the operator gets them', async () => {
    const config = operatorConfig(
      await renderChart(helm, {
        values: {
          imageRegistry: 'registry.example:5000/mirror',
          operator: {
            allowedImages: ['registry.example:5000/team/', 'busybox:1.36'],
            siteLimits: { cpu: 2, memory: '2Gi', eventsPerSecond: 0.5 },
          },
        },
      }),
    );
    assert.deepEqual(config.SITE_ALLOWED_IMAGES, ['registry.example:5000/team/', 'busybox:1.36']);
    assert.equal(config.SITE_MAX_CPU, '2');
    assert.equal(config.SITE_MAX_MEMORY, '2Gi');
    assert.equal(config.SITE_MAX_EVENTS_PER_SECOND, 0.5);
    const image = (value: string) =>
      refusal(config, siteWith({ eventsPerSecond: 0.5, simulator: { image: value } }));
    assert.equal(image('registry.example:5000/team/simulator:2'), undefined);
    assert.equal(image('busybox:1.36'), undefined);
    assert.equal(image('busybox:latest')?.reason, 'ImageNotAllowed');

    const mirrored = operatorConfig(
      await renderChart(helm, { values: { imageRegistry: 'registry.example:5000/mirror' } }),
    );
    assert.deepEqual(mirrored.SITE_ALLOWED_IMAGES, [
      'registry.example:5000/mirror/telemetrypulse/simulator',
    ]);
  });
});
