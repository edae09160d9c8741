import assert from 'node:assert/strict';
import { ConfigError } from '@telemetrypulse/shared';
import { loadConfig } from '../../src/config.ts';
import { retentionCutoffs, retentionPolicy } from '../../src/ops/retention.ts';

const POLICY = { rawDays: 30, agg5mDays: 90, agg15mDays: 400 };

describe('retentionCutoffs', () => {
  it('when retention is N days, then the cut-off is the UTC day holding now minus N days', () => {
    assert.deepEqual(retentionCutoffs(POLICY, new Date('2024-03-10T10:00:00Z')), {
      raw: '2024-02-09',
      agg5m: '2023-12-11',
      agg15m: '2023-02-04',
    });
  });

  it('when now is just before or at midnight UTC, then the cut-off moves by exactly one day', () => {
    const before = retentionCutoffs(POLICY, new Date('2024-03-10T23:59:59.999Z'));
    const at = retentionCutoffs(POLICY, new Date('2024-03-11T00:00:00.000Z'));
    assert.equal(before.raw, '2024-02-09');
    assert.equal(at.raw, '2024-02-10');
  });

  it('when the oldest event the processor accepts is N days old, then its day is never cut off', () => {
    for (const iso of ['2024-03-10T00:00:00Z', '2024-03-10T13:37:00Z', '2024-03-10T23:59:59Z']) {
      const now = new Date(iso);
      const oldestAccepted = new Date(now.getTime() - 30 * 86_400_000).toISOString().slice(0, 10);
      assert.ok(retentionCutoffs(POLICY, now).raw <= oldestAccepted, iso);
    }
  });

  it('when a leap day lies in the period, then days are counted as days, not months', () => {
    assert.equal(retentionCutoffs(POLICY, new Date('2024-03-01T12:00:00Z')).raw, '2024-01-31');
  });
});

describe('retentionPolicy', () => {
  it('when nothing is configured, then raw is kept 30 days, 5m aggregates 90 and 15m aggregates 400', () => {
    assert.deepEqual(retentionPolicy(loadConfig({})), POLICY);
  });

  it('when the variables are set, then the policy follows them', () => {
    const config = loadConfig({
      RAW_RETENTION_DAYS: '7',
      AGG_5M_RETENTION_DAYS: '14',
      AGG_15M_RETENTION_DAYS: '60',
    });
    assert.deepEqual(retentionPolicy(config), { rawDays: 7, agg5mDays: 14, agg15mDays: 60 });
  });

  it('when aggregates would go before the raw rows, then a ConfigError names the variable', () => {
    const config = loadConfig({ RAW_RETENTION_DAYS: '30', AGG_15M_RETENTION_DAYS: '10' });
    assert.throws(
      () => retentionPolicy(config),
      (error: unknown) =>
        error instanceof ConfigError &&
        /AGG_15M_RETENTION_DAYS \(10\) must be at least RAW_RETENTION_DAYS \(30\)/.test(
          error.message,
        ),
    );
  });

  it('when a retention variable is not a positive whole number, then the configuration is refused', () => {
    assert.throws(() => loadConfig({ AGG_5M_RETENTION_DAYS: '0' }), /AGG_5M_RETENTION_DAYS/);
    assert.throws(
      () => loadConfig({ AGG_15M_RETENTION_DAYS: 'forever' }),
      /AGG_15M_RETENTION_DAYS/,
    );
  });
});
