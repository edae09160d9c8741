// The throwaway Prometheus the tests start: when it cannot start, the error says why.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startPrometheus } from '../../../src/prometheus/server.ts';

describe('startPrometheus', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'prometheus-server-test-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('when a rule file does not parse, then it fails with the end of Prometheus’s log naming it', async function () {
    this.timeout(300_000); // the first run unpacks the package
    const rules = path.join(dir, 'broken-rules.yaml');
    writeFileSync(
      rules,
      'groups:\n  - name: broken\n    rules:\n      - alert: X\n        expr: rate(\n',
    );
    await assert.rejects(startPrometheus({ targets: [], ruleFiles: [rules] }), (error: Error) => {
      assert.match(error.message, /Prometheus exited/);
      assert.match(error.message, /end of \S*prometheus-1\.log:\n[\s\S]*broken-rules\.yaml/);
      return true;
    });
  });
});
