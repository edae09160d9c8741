// The CI workflow through actionlint (built from the Go module proxy): syntax, expressions,
// action inputs, job dependencies. A broken copy must fail, so the check is known to bite.
// The release workflow has its own checks: release.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../../src/paths.ts';
import { ensureActionlint, runActionlint as actionlint } from '../../../src/tools/actionlint.ts';

const WORKFLOW = path.join(REPO_ROOT, '.github', 'workflows', 'ci.yml');

describe('CI workflow', function () {
  this.timeout(30 * 60_000);
  let binary: string;
  const scratch = mkdtempSync(path.join(tmpdir(), 'workflow-'));

  before(async () => {
    binary = await ensureActionlint();
  });

  after(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('when checked by actionlint, then .github/workflows/ci.yml has no problem', async () => {
    const result = await actionlint(binary, WORKFLOW);
    assert.equal(result.code, 0, result.output);
  });

  it('when a job needs a job that does not exist, then actionlint fails it', async () => {
    const broken = readFileSync(WORKFLOW, 'utf8').replace(
      'needs: [chart, images]',
      'needs: [chart, imagez]',
    );
    assert.notEqual(
      broken,
      readFileSync(WORKFLOW, 'utf8'),
      'the e2e job no longer needs chart and images',
    );
    const file = path.join(scratch, 'ci.yml');
    writeFileSync(file, broken);
    const result = await actionlint(binary, file);
    assert.notEqual(result.code, 0);
    assert.match(result.output, /imagez/);
  });

  it('has the jobs the project promises: tests, chart checks, image builds and an end-to-end run on kind', () => {
    const text = readFileSync(WORKFLOW, 'utf8');
    for (const job of ['test:', 'chart:', 'images:', 'e2e:'])
      assert.match(text, new RegExp(`^  ${job}`, 'm'));
    assert.match(text, /run: make test/);
    assert.match(text, /helm lint --strict/);
    assert.match(text, /kubeconform/);
    assert.match(text, /helm\/kind-action/);
    assert.match(text, /helm install keda/);
    assert.match(text, /port-forward svc\/telemetrypulse-api/);
  });
});
