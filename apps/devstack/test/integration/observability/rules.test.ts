// The chart's alert rules pass promtool, Prometheus's own checker, from Debian's package.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { installPrometheus } from '../../../src/prometheus/install.ts';
import { loadRules, RULES_FILE } from './queries.ts';

const run = promisify(execFile);

describe('Prometheus alert rules in the chart', () => {
  let promtool: string;
  before(async function () {
    this.timeout(300_000); // the first run downloads the package
    ({ promtool } = await installPrometheus());
  });

  it('then promtool check rules accepts them', async () => {
    const { stdout } = await run(promtool, ['check', 'rules', RULES_FILE]);
    assert.match(stdout, /SUCCESS: \d+ rules found/);
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
      'TelemetryPulseConsumerLagGrowing',
      'TelemetryPulseDeadLetterRate',
      'TelemetryPulseProcessorDown',
      'TelemetryPulseSiteSilent',
    ]);
  });
});
