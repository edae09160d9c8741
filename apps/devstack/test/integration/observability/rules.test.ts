// The chart's alert rules pass promtool, Prometheus's own checker, from Debian's package: the
// syntax (`check rules`) and when each alert fires (`test rules` on prometheus-rules.test.yaml).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { installPrometheus } from '../../../src/prometheus/install.ts';
import { loadRules, RULES_FILE } from '../../../src/prometheus/queries.ts';

const RULES_TEST_FILE = path.join(import.meta.dirname, 'prometheus-rules.test.yaml');

interface RulesTestFile {
  rule_files: string[];
  tests: {
    alert_rule_test?: { eval_time: string; alertname: string; exp_alerts?: unknown[] }[];
  }[];
}

interface Outcome {
  code: number;
  output: string;
}

/** Runs promtool; its exit code and stdout + stderr (it reports failures on stderr). */
function promtoolRun(promtool: string, args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(promtool, args, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe('Prometheus alert rules in the chart', () => {
  let promtool: string;
  before(async function () {
    this.timeout(300_000); // the first run downloads the package
    ({ promtool } = await installPrometheus());
  });

  it('then promtool check rules accepts them', async () => {
    const { code, output } = await promtoolRun(promtool, ['check', 'rules', RULES_FILE]);
    assert.equal(code, 0, output);
    assert.match(output, /SUCCESS: \d+ rules found/);
  });

  it("then the issue's alerts are all there, each with a severity and a summary", () => {
    const rules = loadRules();
    for (const r of rules) {
      assert.match(r.labels.severity ?? '', /^(warning|critical)$/, r.alert);
      assert.ok(r.annotations.summary, `${r.alert} has no summary`);
    }
    const alerts = rules.map((r) => r.alert);
    assert.deepEqual(alerts.sort(), [
      'TelemetryPulseApiLatencyHigh',
      'TelemetryPulseApiLiveStreamsDropped',
      'TelemetryPulseApiLiveStreamsFull',
      'TelemetryPulseConsumerLagGrowing',
      'TelemetryPulseDeadLetterRate',
      'TelemetryPulseDeadLettersLost',
      'TelemetryPulseProcessorDown',
      'TelemetryPulseProcessorStuck',
      'TelemetryPulseSiteSilent',
    ]);
  });

  describe('promtool test rules', () => {
    const cases = parse(readFileSync(RULES_TEST_FILE, 'utf8')) as RulesTestFile;
    const checks = cases.tests.flatMap((t) => t.alert_rule_test ?? []);

    it('then the cases test the chart rules, and every alert both fires and stays silent in them', () => {
      assert.deepEqual(
        cases.rule_files.map((f) => path.resolve(path.dirname(RULES_TEST_FILE), f)),
        [RULES_FILE],
      );
      for (const { alert } of loadRules()) {
        const mine = checks.filter((c) => c.alertname === alert);
        assert.ok(
          mine.some((c) => (c.exp_alerts ?? []).length > 0),
          `no case where ${alert} fires`,
        );
        assert.ok(
          mine.some((c) => (c.exp_alerts ?? []).length === 0),
          `no case where ${alert} stays silent`,
        );
      }
    });

    it('then each alert fires, with its labels and annotations, exactly where the cases expect', async function () {
      this.timeout(60_000);
      const { code, output } = await promtoolRun(promtool, ['test', 'rules', RULES_TEST_FILE]);
      assert.equal(code, 0, output);
      assert.match(output, /SUCCESS/);
      assert.doesNotMatch(output, /FAILED/);
    });

    it('when a case expects silence where an alert fires, then promtool fails and names it', async function () {
      this.timeout(60_000);
      // The same cases with the first firing expectation emptied, the rules path made absolute.
      const altered = structuredClone(cases);
      altered.rule_files = [RULES_FILE];
      const firing = altered.tests
        .flatMap((t) => t.alert_rule_test ?? [])
        .find((c) => (c.exp_alerts ?? []).length > 0);
      assert.ok(firing);
      firing.exp_alerts = [];
      const dir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-promtool-'));
      try {
        const file = path.join(dir, 'altered.test.yaml');
        writeFileSync(file, stringify(altered));
        const { code, output } = await promtoolRun(promtool, ['test', 'rules', file]);
        assert.equal(code, 1, output);
        assert.match(output, /FAILED/);
        assert.ok(output.includes(`alertname: ${firing.alertname}`), output);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
