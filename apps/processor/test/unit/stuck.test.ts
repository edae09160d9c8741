import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { createLogger } from '@telemetrypulse/shared';
import { createStuckWatch } from '../../src/ops/stuck.ts';

async function gauges(registry: Registry): Promise<Record<string, number>> {
  const values: Record<string, number> = {};
  for (const name of ['telemetry_processor_retrying_seconds', 'telemetry_processor_stuck']) {
    const metric = await registry.getSingleMetric(name)?.get();
    for (const v of metric?.values ?? []) values[`${name}{${String(v.labels.stage)}}`] = v.value;
  }
  return values;
}

describe('stuck watch', () => {
  it('when work keeps failing past STUCK_AFTER_SECONDS, then its gauges say how long and that it is stuck, until it ends', async () => {
    let now = 1_000_000;
    const registry = new Registry();
    const watch = createStuckWatch({
      registry,
      logger: createLogger('test', 'silent'),
      stuckAfterMs: 300_000,
      now: () => now,
    });
    const idle = {
      'telemetry_processor_retrying_seconds{store}': 0,
      'telemetry_processor_retrying_seconds{dead_letter}': 0,
      'telemetry_processor_stuck{store}': 0,
      'telemetry_processor_stuck{dead_letter}': 0,
    };
    assert.deepEqual(await gauges(registry), idle);

    const first = watch.episode('store');
    assert.deepEqual(await gauges(registry), idle, 'not failing yet');
    first.failing(new Error('down'));
    now += 120_000;
    const second = watch.episode('store');
    second.failing(new Error('down'));
    now += 60_000;
    assert.equal((await gauges(registry))['telemetry_processor_retrying_seconds{store}'], 180);
    assert.equal((await gauges(registry))['telemetry_processor_stuck{store}'], 0);

    now += 120_000;
    first.failing(new Error('still down'));
    assert.deepEqual(await gauges(registry), {
      ...idle,
      'telemetry_processor_retrying_seconds{store}': 300,
      'telemetry_processor_stuck{store}': 1,
    });

    // The oldest ends; the other one has been failing for 180 s.
    first.end();
    assert.equal((await gauges(registry))['telemetry_processor_retrying_seconds{store}'], 180);
    assert.equal((await gauges(registry))['telemetry_processor_stuck{store}'], 0);
    second.end();
    assert.deepEqual(await gauges(registry), idle);
  });
});
