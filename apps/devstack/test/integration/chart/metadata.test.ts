// Chart.yaml's metadata for Artifact Hub against what it describes, so the two cannot drift: the
// images it lists are the ones the chart runs, pinned to full versions held in values.yaml only;
// its CRDs, example and license are the chart's and the project's own.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { artifactHubImages } from '../../../src/chart/release.ts';
import { helmLint, renderChart, type KubeObject } from '../../../src/chart/render.ts';
import { CHART_DIR } from '../../../src/chart/values-schema.ts';
import { APPS } from '../../../src/images/names.ts';
import { REPO_ROOT } from '../../../src/paths.ts';
import { ensureHelm } from '../../../src/tools/helm.ts';

interface ChartYaml {
  version: string;
  maintainers?: { name: string }[];
  annotations: Record<string, string>;
}
interface Crd {
  metadata: { name: string };
  spec: { names: { kind: string }; versions: { name: string; served: boolean }[] };
}

const chartText = () => readFileSync(path.join(CHART_DIR, 'Chart.yaml'), 'utf8');
const chart = () => parseYaml(chartText()) as ChartYaml;

/** An image reference as a registry reads it: redpandadata/x:1 → docker.io/redpandadata/x:1. */
function qualifiedImage(reference: string): string {
  const [first = '', ...rest] = reference.split('/');
  if (rest.length === 0) return `docker.io/library/${reference}`;
  if (first.includes('.') || first.includes(':') || first === 'localhost') return reference;
  return `docker.io/${reference}`;
}

/** The images the chart's pods run, other than the four apps', qualified and sorted. */
function infraImages(objects: KubeObject[]): string[] {
  const apps = new Set(APPS.map((app) => `telemetrypulse/${app}`));
  const images = objects.flatMap((object) => {
    const spec = object.spec as
      { template?: { spec?: { containers?: { image: string }[] } } } | undefined;
    return (spec?.template?.spec?.containers ?? []).map((c) => c.image);
  });
  const infra = images.filter((image) => !apps.has(image.split(':')[0] ?? ''));
  return [...new Set(infra.map(qualifiedImage))].sort();
}

const listedImages = () =>
  [...new Set(artifactHubImages(chartText()).map((entry) => entry.image))].sort();

/** A tag naming a full release (17.9, v24.2.7, 17.9-trixie), not a moving major (17, latest). */
const FULL_VERSION_TAG = /^v?\d+\.\d+(\.\d+)?(-[a-z0-9]+)*$/;

describe('chart metadata (Chart.yaml annotations for Artifact Hub)', function () {
  this.timeout(5 * 60_000);
  let helm: string;
  before(async () => {
    helm = await ensureHelm();
  });

  it('when everything the chart can run is on, then artifacthub.io/images lists exactly its infrastructure images', async () => {
    const objects = await renderChart(helm, {
      values: { redpanda: { console: { enabled: true } } },
    });
    const rendered = infraImages(objects);
    assert.ok(rendered.length >= 3, rendered.join(', '));
    assert.deepEqual(listedImages(), rendered);
  });

  it('when a values.yaml image tag changes, then the annotation no longer matches it', async () => {
    const objects = await renderChart(helm, {
      values: {
        redpanda: { console: { enabled: true } },
        postgresql: { image: { repository: 'postgres', tag: '17.10-trixie' } },
      },
    });
    const rendered = infraImages(objects);
    assert.ok(rendered.includes('docker.io/library/postgres:17.10-trixie'), rendered.join(', '));
    assert.notDeepEqual(listedImages(), rendered);
  });

  it('pins every infrastructure image to a full version in values.yaml, and no template names one', () => {
    const values = parseYaml(readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as {
      redpanda: { image: { tag: string }; console: { image: { tag: string } } };
      postgresql: { image: { tag: string } };
    };
    const tags = [
      values.redpanda.image.tag,
      values.redpanda.console.image.tag,
      values.postgresql.image.tag,
    ];
    for (const tag of tags) assert.match(tag, FULL_VERSION_TAG);
    for (const floating of ['17', 'latest', '17-trixie', 'v24'])
      assert.doesNotMatch(floating, FULL_VERSION_TAG);

    const templates = path.join(CHART_DIR, 'templates');
    const files = readdirSync(templates, { recursive: true, encoding: 'utf8' }).filter((f) =>
      /\.(yaml|tpl)$/.test(f),
    );
    for (const file of files) {
      for (const line of readFileSync(path.join(templates, file), 'utf8').split('\n')) {
        if (!/^\s*image:/.test(line)) continue;
        assert.match(line, /image: \{\{ include "tp\.(image|infraImage|migrationsImage)"/, file);
      }
    }
  });

  it('lists the chart’s CRDs with their served versions, and an example the project itself applies', () => {
    const crds = readdirSync(path.join(CHART_DIR, 'crds')).flatMap((file) =>
      parseAllDocuments(readFileSync(path.join(CHART_DIR, 'crds', file), 'utf8')).map(
        (doc) => doc.toJS() as Crd,
      ),
    );
    const expected = crds.flatMap((crd) =>
      crd.spec.versions
        .filter((v) => v.served)
        .map((v) => ({ kind: crd.spec.names.kind, version: v.name, name: crd.metadata.name })),
    );
    const listed = (
      parseYaml(chart().annotations['artifacthub.io/crds'] ?? '') as {
        kind: string;
        version: string;
        name: string;
        displayName: string;
        description: string;
      }[]
    ).map(({ kind, version, name, displayName, description }) => {
      assert.ok(displayName && description, `${kind}: displayName and description`);
      return { kind, version, name };
    });
    assert.deepEqual(listed, expected);

    const examples = parseYaml(chart().annotations['artifacthub.io/crdsExamples'] ?? '') as {
      kind: string;
      metadata: { name: string };
    }[];
    const sites = parseAllDocuments(
      readFileSync(path.join(REPO_ROOT, 'k8s', 'examples', 'sites.yaml'), 'utf8'),
    ).map((doc) => doc.toJS() as { metadata: { name: string } });
    assert.ok(examples.length > 0);
    for (const example of examples) {
      const same = sites.find((site) => site.metadata.name === example.metadata.name);
      assert.deepEqual(example, same, `k8s/examples/sites.yaml has ${example.metadata.name}`);
    }
  });

  it('names the project’s license and its maintainers, and helm lints it strictly', async () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
      license: string;
    };
    assert.equal(chart().annotations['artifacthub.io/license'], pkg.license);
    assert.ok((chart().maintainers ?? []).every((m) => m.name.length > 0));
    assert.ok((chart().maintainers ?? []).length > 0);
    const lint = await helmLint(helm);
    assert.equal(lint.code, 0, lint.stdout + lint.stderr);
  });
});
