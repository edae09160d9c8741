// A release of the chart and the four images (.github/workflows/release.yml, on a tag v<version>).
// The tag must name Chart.yaml's version (users install the chart by it) and appVersion (the chart
// pulls its images by it) before anything is pushed. The packaged chart then gets what only the
// release knows, being unknown in the repository: where it comes from (home, sources, icon) and
// the app images it pushed (artifacthub.io/images, after the infrastructure images already there).
//   node apps/devstack/src/chart/release.ts check --tag v0.1.0                      → version=0.1.0
//   node apps/devstack/src/chart/release.ts stamp --tag v0.1.0 --repository acme/telemetrypulse \
//     --server-url https://github.com --owner acme --out <dir>                      → <dir>/telemetrypulse
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse, parseDocument, stringify } from 'yaml';
import { APPS } from '../images/names.ts';
import { REPO_ROOT } from '../paths.ts';

export const RELEASE_CHART_DIR = path.join(REPO_ROOT, 'charts', 'telemetrypulse');
/** Where the release pushes the images and the chart: the GitHub container registry. */
export const RELEASE_REGISTRY = 'ghcr.io';
/** The chart's icon, in the repository; the released Chart.yaml points at it by the tag. */
export const ICON_PATH = 'charts/telemetrypulse/icon.svg';

const SEMVER = /^v(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/;

export interface ArtifactHubImage {
  name: string;
  image: string;
}

function chartFields(chartYaml: string): Record<string, unknown> {
  // Every scalar as written: an unquoted 1.10 stays "1.10".
  const chart = parse(chartYaml, { schema: 'failsafe' }) as Record<string, unknown> | null;
  if (!chart || typeof chart !== 'object') throw new Error('Chart.yaml is empty');
  return chart;
}

/** The version a tag releases; refused unless it is Chart.yaml's version and appVersion. */
export function releaseVersion(tag: string, chartYaml: string): string {
  const match = SEMVER.exec(tag);
  if (!match?.[1]) throw new Error(`the tag ${tag} is not v<semantic version>, e.g. v0.1.0`);
  const version = match[1];
  const { version: chartVersion, appVersion } = chartFields(chartYaml);
  if (chartVersion !== version || appVersion !== version) {
    throw new Error(
      `the tag ${tag} releases ${version}, but charts/telemetrypulse/Chart.yaml has version ` +
        `${String(chartVersion)} and appVersion ${String(appVersion)}: set both to ${version} ` +
        `and tag again (the chart is installed by its version and pulls its images by appVersion)`,
    );
  }
  return version;
}

/** ghcr.io/<owner>/telemetrypulse/<app>: imageRegistry ghcr.io/<owner> + the chart's repository. */
export function releaseImageRepository(owner: string, app: string): string {
  return `${RELEASE_REGISTRY}/${owner.toLowerCase()}/telemetrypulse/${app}`;
}

/** The app images a release pushes, as artifacthub.io/images lists them. */
export function releaseImages(owner: string, version: string): ArtifactHubImage[] {
  return APPS.map((app) => ({
    name: app,
    image: `${releaseImageRepository(owner, app)}:${version}`,
  }));
}

/** artifacthub.io/images of a Chart.yaml (a YAML list in a string). */
export function artifactHubImages(chartYaml: string): ArtifactHubImage[] {
  const annotations = chartFields(chartYaml).annotations as Record<string, string> | undefined;
  const text = annotations?.['artifacthub.io/images'];
  if (text === undefined) return [];
  return parse(text) as ArtifactHubImage[];
}

export interface StampOptions {
  tag: string;
  /** owner/name, as github.repository. */
  repository: string;
  /** As github.server_url, e.g. https://github.com. */
  serverUrl: string;
  owner: string;
}

/** The released Chart.yaml: the repository's own, plus home, sources, icon and the app images. */
export function stampChartYaml(chartYaml: string, options: StampOptions): string {
  const version = releaseVersion(options.tag, chartYaml);
  const repositoryUrl = `${options.serverUrl.replace(/\/+$/, '')}/${options.repository}`;
  const doc = parseDocument(chartYaml);
  for (const field of ['home', 'sources', 'icon']) {
    if (doc.has(field)) throw new Error(`Chart.yaml already has ${field}: the release sets it`);
  }
  doc.set('home', repositoryUrl);
  doc.set('sources', [repositoryUrl]);
  // The file at the tag, served raw (GitHub's own host; a public repository's files are public).
  if (new URL(options.serverUrl).host === 'github.com') {
    doc.set(
      'icon',
      `https://raw.githubusercontent.com/${options.repository}/${options.tag}/${ICON_PATH}`,
    );
  }
  const images = [...releaseImages(options.owner, version), ...artifactHubImages(chartYaml)];
  doc.setIn(['annotations', 'artifacthub.io/images'], stringify(images));
  return doc.toString({ lineWidth: 0 });
}

function main(argv: string[]): void {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      tag: { type: 'string' },
      repository: { type: 'string' },
      'server-url': { type: 'string' },
      owner: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const required = (name: keyof typeof values): string => {
    const value = values[name];
    if (!value) throw new Error(`--${name} is required`);
    return value;
  };
  const chartYaml = readFileSync(path.join(RELEASE_CHART_DIR, 'Chart.yaml'), 'utf8');
  if (command === 'check') {
    process.stdout.write(`version=${releaseVersion(required('tag'), chartYaml)}\n`);
  } else if (command === 'stamp') {
    const stamped = stampChartYaml(chartYaml, {
      tag: required('tag'),
      repository: required('repository'),
      serverUrl: required('server-url'),
      owner: required('owner'),
    });
    const out = path.join(required('out'), 'telemetrypulse');
    cpSync(RELEASE_CHART_DIR, out, { recursive: true });
    writeFileSync(path.join(out, 'Chart.yaml'), stamped);
    process.stdout.write(`chart=${out}\n`);
  } else {
    throw new Error(`unknown command ${String(command)}: check or stamp`);
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    // A workflow command: the run's summary shows the reason next to the failed step.
    process.stderr.write(`::error title=release::${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
