import assert from 'node:assert/strict';
import {
  RETAINED_WINDOWS,
  sourceWindow,
  STORED_WINDOWS,
  WINDOWS,
  windowStart,
} from '../../src/contract/windows.ts';

const FIVE = 5 * 60_000;
const FIFTEEN = 15 * 60_000;
const at = (iso: string) => Date.parse(iso);

describe('windows', () => {
  it('when the windows are listed, then 5m and 15m have the original tables, 1h the hourly one and 1d none', () => {
    assert.deepEqual(
      WINDOWS.map((w) => [w.name, w.ms, 'table' in w ? w.table : undefined]),
      [
        ['5m', FIVE, 'telemetry_agg_5m'],
        ['15m', FIFTEEN, 'telemetry_agg_15m'],
        ['1h', 3_600_000, 'telemetry_agg_1h'],
        ['1d', 86_400_000, undefined],
      ],
    );
    assert.deepEqual(
      STORED_WINDOWS.map((w) => w.name),
      ['5m', '15m', '1h'],
    );
  });

  it('when retention is configured, then only 5m and 15m have a setting (hourly rows are kept)', () => {
    assert.deepEqual(
      RETAINED_WINDOWS.map((w) => [w.name, w.retentionSetting]),
      [
        ['5m', 'AGG_5M_RETENTION_DAYS'],
        ['15m', 'AGG_15M_RETENTION_DAYS'],
      ],
    );
  });

  it('when a window is read, then it comes from the widest table it is a whole number of', () => {
    assert.deepEqual(
      WINDOWS.map((w) => [w.name, sourceWindow(w.name).table]),
      [
        ['5m', 'telemetry_agg_5m'],
        ['15m', 'telemetry_agg_15m'],
        ['1h', 'telemetry_agg_1h'],
        ['1d', 'telemetry_agg_1h'],
      ],
    );
  });

  it('when a time is inside a window, then the start is aligned to the epoch', () => {
    const ts = at('2026-03-01T12:07:31.456Z');
    assert.equal(windowStart(ts, FIVE), at('2026-03-01T12:05:00Z'));
    assert.equal(windowStart(ts, FIFTEEN), at('2026-03-01T12:00:00Z'));
    assert.equal(windowStart(at('2026-03-01T12:59:59.999Z'), FIFTEEN), at('2026-03-01T12:45:00Z'));
  });

  it('when a time is exactly on a boundary, then it starts that window', () => {
    assert.equal(windowStart(at('2026-03-01T12:05:00Z'), FIVE), at('2026-03-01T12:05:00Z'));
    assert.equal(windowStart(at('2026-03-01T12:15:00Z'), FIFTEEN), at('2026-03-01T12:15:00Z'));
    assert.equal(windowStart(0, FIVE), 0);
  });

  it('when a time is 1 ms before a boundary, then it belongs to the previous window', () => {
    assert.equal(windowStart(at('2026-03-01T12:04:59.999Z'), FIVE), at('2026-03-01T12:00:00Z'));
    assert.equal(windowStart(at('2026-03-01T12:14:59.999Z'), FIFTEEN), at('2026-03-01T12:00:00Z'));
  });

  it('when a time is before the epoch, then the start still lies at or before it', () => {
    assert.equal(windowStart(-1, FIVE), -FIVE);
    assert.equal(windowStart(-FIVE, FIVE), -FIVE);
    assert.equal(windowStart(-FIVE - 1, FIVE), -2 * FIVE);
    assert.equal(windowStart(-1, FIFTEEN), -FIFTEEN);
    assert.ok(Object.is(windowStart(-FIVE, FIVE), -FIVE));
  });

  it('when any time is aligned, then it falls in [start, start + size) and 5m nests in 15m', () => {
    for (let ts = -2 * FIFTEEN; ts <= 2 * FIFTEEN; ts += 37_123) {
      for (const size of [FIVE, FIFTEEN]) {
        const start = windowStart(ts, size);
        assert.ok(start <= ts && ts < start + size, `${ts} in ${size}`);
        assert.equal(start % size === 0, true);
      }
      assert.equal(windowStart(windowStart(ts, FIVE), FIFTEEN), windowStart(ts, FIFTEEN));
    }
  });
});
