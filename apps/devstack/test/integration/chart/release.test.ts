// The release workflow (.github/workflows/release.yml) as far as it can be checked without
// GitHub: actionlint, the images it builds against the four apps and the build args the images
// check builds (apps/devstack/test/integration/images/), the names it pushes against the ones the
// chart pulls, and its own tag-check and packaging steps run here with bash, node and helm.
// Pushing to the registry happens on GitHub only.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import {
  artifactHubImages,
  ICON_PATH,
  RELEASE_REGISTRY,
  releaseVersion,
  stampChartYaml,
} from '../../../src/chart/release.ts';
import { renderChart, runHelm, type KubeObject } from '../../../src/chart/render.ts';
import { APPS, publishedBuildArgs } from '../../../src/images/names.ts';
import { REPO_ROOT } from '../../../src/paths.ts';
import { ensureActionlint, runActionlint } from '../../../src/tools/actionlint.ts';
import { ensureHelm } from '../../../src/tools/helm.ts';
import { TOOL_VERSIONS } from '../../../src/tools/versions.ts';

const execFileAsync = promisify(execFile);
const WORKFLOWS = path.join(REPO_ROOT, '.github', 'workflows');
const RELEASE = path.join(WORKFLOWS, 'release.yml');
const CHART_YAML_PATH = path.join(REPO_ROOT, 'charts', 'telemetrypulse', 'Chart.yaml');

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  shell?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  permissions?: Record<string, string>;
  strategy?: { matrix: Record<string, unknown[]> };
  env?: Record<string, string>;
  outputs?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: { push?: { tags?: string[]; branches?: string[] } };
  permissions: Record<string, string>;
  env: Record<string, string>;
  jobs: Record<string, Job>;
}

const readWorkflow = (file: string) => parseYaml(readFileSync(file, 'utf8')) as Workflow;
const chartYaml = () => readFileSync(CHART_YAML_PATH, 'utf8');

function job(workflow: Workflow, name: string): Job {
  const found = workflow.jobs[name];
  assert.ok(found, `no job ${name} (have ${Object.keys(workflow.jobs).join(', ')})`);
  return found;
}

function step(from: Job, match: (s: Step) => boolean, what: string): Step {
  const found = from.steps.find(match);
  assert.ok(found, `no step ${what}`);
  return found;
}

const uses = (action: string) => (s: Step) => s.uses?.split('@')[0] === action;

/** `${{ ... }}` expressions replaced as GitHub would, from the given values. */
function substitute(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (whole, expression: string) => {
    const value = values[expression];
    assert.ok(value !== undefined, `no value for ${whole}`);
    return value;
  });
}

/** `KEY=value` lines of a build-args input. */
function buildArgs(text: unknown): Record<string, string> {
  assert.equal(typeof text, 'string');
  return Object.fromEntries(
    (text as string)
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '')
      .map((line) => {
        const at = line.indexOf('=');
        return [line.slice(0, at), line.slice(at + 1)];
      }),
  );
}

interface StepRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
}

/**
 * A `run:` step as GitHub runs it with `shell: bash` (bash --noprofile --norc -eo pipefail), in
 * the repository, with the workflow's and the step's env (given values instead of expressions).
 */
async function runStep(
  workflow: Workflow,
  target: Step,
  env: Record<string, string>,
  scratch: string,
): Promise<StepRun> {
  assert.equal(target.shell, 'bash', `${target.name ?? target.id ?? ''}: shell bash`);
  assert.ok(target.run, 'a run step');
  // Expressions stay out of scripts (env holds them), so a tag name cannot become shell code.
  assert.doesNotMatch(target.run, /\$\{\{/, 'expressions inside the script');
  for (const name of Object.keys(target.env ?? {}))
    assert.ok(name in env, `the test gives ${name}`);
  const script = path.join(scratch, `step-${Date.now()}.sh`);
  const outputFile = path.join(scratch, `output-${Date.now()}`);
  writeFileSync(script, target.run);
  writeFileSync(outputFile, '');
  const helmDir = path.dirname(await ensureHelm());
  const fullEnv = {
    PATH: `${path.dirname(process.execPath)}:${helmDir}:/usr/bin:/bin`,
    HOME: scratch,
    GITHUB_OUTPUT: outputFile,
    RUNNER_TEMP: scratch,
    ...workflow.env,
    ...env,
  };
  let result: { code: number; stdout: string; stderr: string };
  try {
    const { stdout, stderr } = await execFileAsync(
      'bash',
      ['--noprofile', '--norc', '-eo', 'pipefail', script],
      { cwd: REPO_ROOT, env: fullEnv, timeout: 5 * 60_000 },
    );
    result = { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failure.code !== 'number') throw error;
    result = { code: failure.code, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
  const outputs = Object.fromEntries(
    readFileSync(outputFile, 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return { ...result, outputs };
}

/** Every image the release pulls: its containers', and the simulators' the operator makes. */
function pulledImages(objects: KubeObject[]): string[] {
  return objects.flatMap((object) => {
    const spec = object.spec as
      | {
          template?: {
            spec?: { containers?: { image: string; env?: { name: string; value?: string }[] }[] };
          };
        }
      | undefined;
    return (spec?.template?.spec?.containers ?? []).flatMap((c) => [
      c.image,
      ...(c.env ?? []).filter((e) => e.name === 'SIMULATOR_IMAGE').map((e) => e.value ?? ''),
    ]);
  });
}

describe('release workflow', function () {
  this.timeout(30 * 60_000);
  const scratch = mkdtempSync(path.join(tmpdir(), 'release-'));
  const workflow = readWorkflow(RELEASE);
  const chartVersion = (parseYaml(chartYaml()) as { version: string }).version;

  after(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  describe('as actionlint reads it', () => {
    let binary: string;
    before(async () => {
      binary = await ensureActionlint();
    });

    it('when checked by actionlint, then release.yml has no problem', async () => {
      const result = await runActionlint(binary, RELEASE);
      assert.equal(result.code, 0, result.output);
    });

    // actionlint knows the inputs of popular actions by major version (docker/build-push-action@v7)
    // only, so the pinned copy is also checked with each pin read as its major.
    it('when each pin is read as its major version, then every action input is known, and a misspelt one fails', async () => {
      const text = readFileSync(RELEASE, 'utf8');
      const majors = text.replace(/@v(\d+)\.\d+\.\d+/g, '@v$1');
      const file = path.join(scratch, 'release-majors.yml');
      writeFileSync(file, majors);
      const clean = await runActionlint(binary, file);
      assert.equal(clean.code, 0, clean.output);

      writeFileSync(file, majors.replace('provenance: mode=max', 'provenanse: mode=max'));
      const broken = await runActionlint(binary, file);
      assert.notEqual(broken.code, 0);
      assert.match(broken.output, /input "provenanse" is not defined/);
    });
  });

  it('runs on version tags only, with read-only permissions unless a job needs to push', () => {
    assert.deepEqual(workflow.on.push?.tags, ['v*']);
    assert.equal(workflow.on.push.branches, undefined);
    assert.deepEqual(Object.keys(workflow.on), ['push']);
    assert.deepEqual(workflow.permissions, { contents: 'read' });
    assert.deepEqual(job(workflow, 'images').permissions, {
      contents: 'read',
      packages: 'write',
    });
    assert.deepEqual(job(workflow, 'chart').permissions, { contents: 'read', packages: 'write' });
    assert.equal(job(workflow, 'version').permissions, undefined);
  });

  it('pins every action to a full version tag, and helm to the version the project builds', () => {
    const all = Object.values(workflow.jobs).flatMap((j) => j.steps);
    const actions = all.filter((s) => s.uses !== undefined);
    assert.ok(actions.length >= 8, `${actions.length} actions`);
    for (const s of actions) assert.match(s.uses ?? '', /^[\w.-]+\/[\w.-]+@v\d+\.\d+\.\d+$/);
    assert.equal(workflow.env.HELM_VERSION, TOOL_VERSIONS.helm);
    assert.equal(readWorkflow(path.join(WORKFLOWS, 'ci.yml')).env.HELM_VERSION, TOOL_VERSIONS.helm);
    const setupHelm = step(job(workflow, 'chart'), uses('azure/setup-helm'), 'azure/setup-helm');
    assert.equal(setupHelm.with?.version, '${{ env.HELM_VERSION }}');
    assert.equal(workflow.env.REGISTRY, RELEASE_REGISTRY);
  });

  it('builds exactly the four apps the Dockerfile knows, with the build args the images check replays', () => {
    const images = job(workflow, 'images');
    assert.deepEqual(images.strategy?.matrix, { app: [...APPS] });
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    for (const app of APPS) {
      assert.match(dockerfile, new RegExp(`^COPY apps/${app}/package.json apps/${app}/$`, 'm'));
      assert.ok(existsSync(path.join(REPO_ROOT, 'apps', app, 'src', 'main.ts')), app);
    }
    const build = step(images, uses('docker/build-push-action'), 'docker/build-push-action');
    const inputs = build.with ?? {};
    // The Dockerfile at the root, its last stage: what the images check replays.
    assert.equal(inputs.context, '.');
    for (const absent of ['file', 'target', 'build-contexts', 'call'])
      assert.equal(inputs[absent], undefined, absent);
    const ci = job(readWorkflow(path.join(WORKFLOWS, 'ci.yml')), 'images');
    const ciBuild = step(ci, uses('docker/build-push-action'), 'ci.yml docker/build-push-action');
    for (const app of APPS) {
      const values = { 'matrix.app': app };
      assert.deepEqual(
        buildArgs(substitute(String(inputs['build-args']), values)),
        publishedBuildArgs(app),
      );
      assert.deepEqual(
        buildArgs(substitute(String(ciBuild.with?.['build-args']), values)),
        publishedBuildArgs(app),
      );
    }
  });

  it('pushes each image for amd64 and arm64 with its SBOM and max-mode provenance', () => {
    const images = job(workflow, 'images');
    const build = step(images, uses('docker/build-push-action'), 'docker/build-push-action');
    const inputs = build.with ?? {};
    assert.deepEqual(String(inputs.platforms).split(',').sort(), ['linux/amd64', 'linux/arm64']);
    assert.equal(inputs.push, true);
    assert.equal(inputs.provenance, 'mode=max');
    assert.equal(inputs.sbom, true);
    assert.equal(inputs.tags, '${{ steps.meta.outputs.tags }}');
    // Emulation for arm64 and a builder that can make multi-platform images, before the build.
    const order = images.steps.map((s) => s.uses?.split('@')[0]);
    const at = (action: string) => order.indexOf(action);
    assert.ok(at('docker/setup-qemu-action') >= 0 && at('docker/setup-buildx-action') >= 0);
    assert.ok(at('docker/setup-qemu-action') < at('docker/build-push-action'));
    assert.ok(at('docker/setup-buildx-action') < at('docker/build-push-action'));
    const login = step(images, uses('docker/login-action'), 'docker/login-action');
    assert.deepEqual(login.with, {
      registry: '${{ env.REGISTRY }}',
      username: '${{ github.actor }}',
      password: '${{ secrets.GITHUB_TOKEN }}',
    });
  });

  describe('run here', () => {
    const versionJob = job(workflow, 'version');
    const check = step(versionJob, (s) => s.id === 'check', 'check');
    const owner = step(versionJob, (s) => s.id === 'owner', 'owner');

    it('when the tag names Chart.yaml’s version, then the check passes and gives the version', async () => {
      const result = await runStep(workflow, check, { TAG: `v${chartVersion}` }, scratch);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.outputs.version, chartVersion);
    });

    it('when the tag differs from Chart.yaml’s version, then the check fails and says which to change', async () => {
      const other = `v${chartVersion.replace(/^(\d+)\./, (_, major: string) => `${Number(major) + 1}.`)}`;
      const result = await runStep(workflow, check, { TAG: other }, scratch);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /^::error title=release::the tag v\S+ releases /m);
      assert.ok(result.stderr.includes(`has version ${chartVersion}`), result.stderr);
      assert.equal(result.outputs.version, undefined);

      const notSemver = await runStep(workflow, check, { TAG: 'latest' }, scratch);
      assert.notEqual(notSemver.code, 0);
      assert.match(notSemver.stderr, /not v<semantic version>/);
    });

    it('when the images are pushed, then their names are the ones the chart pulls with imageRegistry set', async () => {
      const result = await runStep(workflow, owner, { OWNER: 'Acme-Labs' }, scratch);
      assert.equal(result.code, 0, result.stderr);
      const imageRegistry = result.outputs['image-registry'];
      assert.equal(imageRegistry, `${RELEASE_REGISTRY}/acme-labs`);

      const images = job(workflow, 'images');
      const meta = step(images, (s) => s.id === 'meta', 'docker/metadata-action');
      assert.equal(meta.uses?.split('@')[0], 'docker/metadata-action');
      const pushed = APPS.map((app) => {
        const values = {
          'matrix.app': app,
          'needs.version.outputs.image-registry': imageRegistry,
          'needs.version.outputs.version': chartVersion,
        };
        const image = substitute(images.env?.IMAGE ?? '', values);
        assert.equal(substitute(String(meta.with?.images), { 'env.IMAGE': image }), image);
        assert.equal(substitute(String(meta.with?.tags), values), `type=raw,value=${chartVersion}`);
        return `${image}:${chartVersion}`;
      });

      const objects = await renderChart(await ensureHelm(), {
        values: { global: { imageRegistry } },
      });
      const pulled = new Set(
        pulledImages(objects).filter((i) => i.startsWith(`${imageRegistry}/`)),
      );
      assert.deepEqual([...pulled].sort(), [...pushed].sort());
    });

    it('when the chart is packaged, then it carries the repository, its icon and the images, and helm lints it', async () => {
      const chart = job(workflow, 'chart');
      assert.deepEqual(chart.needs, ['version', 'images']);
      const pack = step(chart, (s) => s.id === 'package', 'package');
      const result = await runStep(
        workflow,
        pack,
        {
          TAG: `v${chartVersion}`,
          REPOSITORY: 'Acme-Labs/telemetrypulse',
          SERVER_URL: 'https://github.com',
          OWNER: 'acme-labs',
        },
        scratch,
      );
      assert.equal(result.code, 0, result.stderr + result.stdout);
      const archive = result.outputs.package ?? '';
      assert.equal(path.basename(archive), `telemetrypulse-${chartVersion}.tgz`);
      assert.ok(existsSync(archive), archive);

      const shown = await runHelm(await ensureHelm(), ['show', 'chart', archive]);
      assert.equal(shown.code, 0, shown.stderr);
      const packaged = parseYaml(shown.stdout) as {
        version: string;
        appVersion: string;
        home: string;
        sources: string[];
        icon: string;
      };
      assert.equal(packaged.version, chartVersion);
      assert.equal(packaged.home, 'https://github.com/Acme-Labs/telemetrypulse');
      assert.deepEqual(packaged.sources, ['https://github.com/Acme-Labs/telemetrypulse']);
      assert.equal(
        packaged.icon,
        `https://raw.githubusercontent.com/Acme-Labs/telemetrypulse/v${chartVersion}/${ICON_PATH}`,
      );
      assert.ok(existsSync(path.join(REPO_ROOT, ICON_PATH)), ICON_PATH);
      const images = artifactHubImages(shown.stdout).map((i) => i.image);
      for (const app of APPS)
        assert.ok(
          images.includes(`ghcr.io/acme-labs/telemetrypulse/${app}:${chartVersion}`),
          `${app} in ${images.join(', ')}`,
        );
      for (const infra of artifactHubImages(chartYaml()))
        assert.ok(images.includes(infra.image), infra.image);

      const push = step(chart, (s) => s.run?.includes('helm push') === true, 'helm push');
      assert.match(push.run ?? '', /helm push "\$PACKAGE" "oci:\/\/\$REGISTRY\/\$OWNER\/charts"/);
      assert.equal(push.env?.PACKAGE, '${{ steps.package.outputs.package }}');
    });
  });

  it('when Chart.yaml’s appVersion differs from its version, then no tag can release it', () => {
    const text = chartYaml();
    assert.equal(releaseVersion(`v${chartVersion}`, text), chartVersion);
    const skewed = text.replace(/^appVersion: .*$/m, 'appVersion: "9.9.9"');
    assert.notEqual(skewed, text);
    assert.throws(() => releaseVersion(`v${chartVersion}`, skewed), /appVersion 9\.9\.9/);
    assert.throws(() => releaseVersion('v9.9.9', skewed), /has version/);
  });

  it('when Chart.yaml already names home, sources or icon, then the release refuses to guess which is right', () => {
    const options = {
      tag: `v${chartVersion}`,
      repository: 'acme/telemetrypulse',
      serverUrl: 'https://github.com',
      owner: 'acme',
    };
    assert.doesNotThrow(() => stampChartYaml(chartYaml(), options));
    assert.throws(
      () => stampChartYaml(`${chartYaml()}home: https://example.org\n`, options),
      /already has home/,
    );
  });

  it('the README installs the released chart by its version from where the workflow pushes it', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const command = /helm install telemetrypulse (oci:\/\/\S+) --version (\S+)[^`]*/.exec(readme);
    assert.ok(command, 'no helm install oci:// command in README.md');
    assert.equal(command[1], `oci://${RELEASE_REGISTRY}/<owner>/charts/telemetrypulse`);
    assert.equal(command[2], chartVersion);
    assert.match(
      command[0],
      new RegExp(`--set global\\.imageRegistry=${RELEASE_REGISTRY}/<owner>`),
    );
  });
});
