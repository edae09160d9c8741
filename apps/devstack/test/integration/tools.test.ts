// The tools built or fetched from the Go module proxy work: helm, actionlint and the CRDs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ensureActionlint } from '../../src/tools/actionlint.ts';
import { fetchCrds } from '../../src/tools/crds.ts';
import { ensureHelm } from '../../src/tools/helm.ts';

const run = promisify(execFile);
// A cold build of a tool takes minutes; `make tools` does it ahead of the tests.
const BUILD_TIMEOUT_MS = 30 * 60_000;

/** Exit code, stdout and stderr of a command that may fail. */
async function outcome(file: string, args: string[], cwd?: string) {
  try {
    const { stdout, stderr } = await run(file, args, { cwd });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('tools from the Go module proxy', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-tools-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('helm', () => {
    let helm: string;
    before(async function () {
      this.timeout(BUILD_TIMEOUT_MS);
      helm = await ensureHelm();
    });

    it('when asked for its version, then it reports the pinned 3.19 release', async () => {
      const { stdout } = await run(helm, ['version', '--short']);
      assert.match(stdout, /^v3\.19\.\d+/);
    });

    it('when a chart is rendered without --kube-version, then it assumes Kubernetes 1.34', async () => {
      const chart = path.join(dir, 'chart');
      mkdirSync(path.join(chart, 'templates'), { recursive: true });
      writeFileSync(
        path.join(chart, 'Chart.yaml'),
        'apiVersion: v2\nname: probe\nversion: 0.1.0\n',
      );
      writeFileSync(
        path.join(chart, 'templates', 'cm.yaml'),
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n' +
          '  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n',
      );
      const { stdout } = await run(helm, ['template', 'probe', chart]);
      assert.match(stdout, /kube: "v1\.34\.0"/);
    });
  });

  describe('actionlint', () => {
    let actionlint: string;
    before(async function () {
      this.timeout(BUILD_TIMEOUT_MS);
      actionlint = await ensureActionlint();
    });

    const workflow = (name: string, text: string) => {
      const file = path.join(dir, `${name}.yml`);
      writeFileSync(file, text);
      return file;
    };

    it('when a workflow is valid, then it passes', async () => {
      const file = workflow(
        'valid',
        'name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n' +
          '    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n',
      );
      const result = await outcome(actionlint, ['-no-color', file]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
    });

    it('when a job has no runs-on and a bad expression, then it fails and names both', async () => {
      const file = workflow(
        'invalid',
        'on: [push]\njobs:\n  test:\n    steps:\n      - run: echo ${{ github.nope( }}\n',
      );
      const result = await outcome(actionlint, ['-no-color', file]);
      assert.equal(result.code, 1);
      assert.match(result.stdout, /runs-on/);
      assert.match(result.stdout, /invalid\.yml:5/);
    });
  });

  describe('CRDs', () => {
    it('when fetched, then the KEDA ScaledObject CRD is a CustomResourceDefinition', async function () {
      this.timeout(5 * 60_000);
      const crds = await fetchCrds();
      const [doc] = parseAllDocuments(readFileSync(crds.keda.scaledObjects, 'utf8'));
      const crd = doc?.toJS() as {
        kind?: string;
        spec?: { group?: string; names?: { kind?: string } };
      };
      assert.equal(crd.kind, 'CustomResourceDefinition');
      assert.equal(crd.spec?.group, 'keda.sh');
      assert.equal(crd.spec.names?.kind, 'ScaledObject');
      // The chart's ServiceMonitor and PrometheusRule need these (the others are large).
      const used = [
        crds.prometheusOperator.serviceMonitors,
        crds.prometheusOperator.prometheusRules,
      ];
      for (const file of [...crds.keda.files, ...used]) {
        for (const d of parseAllDocuments(readFileSync(file, 'utf8'))) {
          assert.equal(
            (d.toJS() as { kind?: string } | null)?.kind,
            'CustomResourceDefinition',
            file,
          );
        }
      }
      assert.ok(crds.prometheusOperator.files.length >= 2);
    });
  });
});
