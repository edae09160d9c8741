// The local stack's restart policy, `make status` lines and `make logs` prefixes: pure functions,
// with the clock and the liveness check passed in.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { completeLines, logName, prefixFor, showLogs } from '../../src/stack/logs.ts';
import {
  backoffDelay,
  decideRestart,
  DEFAULT_RESTART_POLICY,
  describeExit,
  exitReason,
  type RestartPolicy,
} from '../../src/stack/restart-policy.ts';
import type { StackState } from '../../src/stack/settings.ts';
import { formatStatus } from '../../src/stack/status.ts';

const policy: RestartPolicy = { initialDelayMs: 1_000, maxDelayMs: 30_000, stableAfterMs: 60_000 };

describe('local stack restart policy', () => {
  it('when an app keeps failing, then the delay doubles from 1 s and stays at 30 s', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 50, 5000].map((n) => backoffDelay(policy, n));
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000]);
  });

  it('when the defaults are used, then they are 1 s doubling to 30 s, stable after a minute', () => {
    assert.deepEqual(DEFAULT_RESTART_POLICY, policy);
  });

  it('when exits come quickly one after another, then each decision counts one more failure', () => {
    let failures = 0;
    let now = 1_000_000;
    const delays: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const startedAt = now;
      now += 500; // ran half a second
      const decision = decideRestart(policy, failures, startedAt, now);
      assert.equal(decision.restartAt, now + decision.delayMs);
      failures = decision.failures;
      delays.push(decision.delayMs);
      now = decision.restartAt;
    }
    assert.deepEqual(delays, [1_000, 2_000, 4_000, 8_000]);
    assert.equal(failures, 4);
  });

  it('when an app ran stably before exiting, then the backoff starts again at 1 s', () => {
    const decision = decideRestart(policy, 6, 0, 60_000);
    assert.deepEqual(decision, { failures: 1, delayMs: 1_000, restartAt: 61_000 });
  });

  it('when an app ran just short of stable, then the backoff goes on doubling', () => {
    const decision = decideRestart(policy, 2, 0, 59_999);
    assert.equal(decision.failures, 3);
    assert.equal(decision.delayMs, 4_000);
  });

  it('when a process ends, then its code or signal is told apart', () => {
    assert.deepEqual(exitReason(1), { code: 1 });
    assert.deepEqual(exitReason('SIGKILL'), { signal: 'SIGKILL' });
    assert.deepEqual(exitReason('spawn error'), { error: 'spawn error' });
    assert.equal(describeExit({ code: 0 }), 'code 0');
    assert.equal(describeExit({ signal: 'SIGKILL' }), 'signal SIGKILL');
    assert.equal(describeExit({ error: 'spawn error' }), 'spawn error');
  });
});

describe('make status', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  const state: StackState = {
    state: 'ready',
    supervisorPid: 100,
    pids: { kafka: 101, processor: 205, api: 103 },
    apps: {
      processor: {
        pid: 205,
        status: 'running',
        startedAt: '2026-01-01T11:59:00Z',
        restarts: 1,
        lastExit: { signal: 'SIGKILL', at: '2026-01-01T11:58:59Z' },
      },
      api: {
        pid: 103,
        status: 'restarting',
        startedAt: '2026-01-01T11:00:00Z',
        restarts: 0,
        lastExit: { code: 1, at: '2026-01-01T11:59:58Z' },
        restartAt: '2026-01-01T12:00:02Z',
      },
    },
    endpoints: {},
    sites: [],
    simulated: [],
  };

  it('when apps were restarted, then each shows its pid, state, restarts and last exit', () => {
    const lines = formatStatus(state, 100, (pid) => pid !== 103, now);
    assert.equal(lines[0], 'ready (supervisor pid 100)');
    const [kafka, processor, api] = lines.slice(1);
    assert.match(kafka ?? '', /^ {2}kafka +pid 101 +running$/);
    assert.match(
      processor ?? '',
      /processor +pid 205 +running +restarts 1 +last exit: signal SIGKILL at 2026-01-01T11:58:59Z \(61 s ago\)/,
    );
    assert.match(api ?? '', /api +pid 103 +restarting in 2 s +restarts 0 +last exit: code 1/);
  });

  it('when a process that should run is gone, then it shows as EXITED', () => {
    const lines = formatStatus(state, 100, () => false, now);
    assert.match(lines[1] ?? '', /kafka +pid 101 +EXITED/);
    assert.match(lines[2] ?? '', /processor +pid 205 +EXITED +restarts 1/);
  });
});

describe('make logs', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-logs-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('when a file is named after a process, then its prefix names it, padded to the widest', () => {
    assert.equal(logName('/x/logs/simulator-site-01.log'), 'simulator-site-01');
    assert.equal(prefixFor('api', 9), '[api]       ');
  });

  it('when a read ends mid-line, then only whole lines are taken, even mid UTF-8 character', () => {
    const bytes = Buffer.from('one\ntwo °C\nthr°');
    const cut = bytes.subarray(0, bytes.length - 1); // half of the last °
    assert.deepEqual(completeLines(cut), {
      lines: ['one', 'two °C'],
      consumed: Buffer.byteLength('one\ntwo °C\n'),
    });
    assert.deepEqual(completeLines(Buffer.from('partial')), { lines: [], consumed: 0 });
  });

  it('when not following, then the last lines of every file are printed with their process', () => {
    writeFileSync(path.join(dir, 'processor.log'), 'p1\np2\np3\n');
    writeFileSync(path.join(dir, 'api.log'), 'a1\nunfinished');
    writeFileSync(path.join(dir, 'notes.txt'), 'not a log\n');
    const out: string[] = [];
    showLogs(dir, { lines: 2, follow: false }, (line) => out.push(line));
    assert.deepEqual(out, ['[api]       a1', '[processor] p2', '[processor] p3']);
  });

  it('when following, then appended lines and new files come out prefixed', () => {
    writeFileSync(path.join(dir, 'api.log'), 'old\n');
    const out: string[] = [];
    const originalSetInterval = globalThis.setInterval;
    let poll: (() => void) | undefined;
    // The poll is called by hand instead of by a timer.
    globalThis.setInterval = ((fn: () => void) => {
      poll = fn;
      return 0;
    }) as unknown as typeof setInterval;
    try {
      showLogs(dir, { lines: 0, follow: true }, (line) => out.push(line));
    } finally {
      globalThis.setInterval = originalSetInterval;
    }
    appendFileSync(path.join(dir, 'api.log'), 'new\nhal');
    writeFileSync(path.join(dir, 'processor.log'), 'started\n');
    poll?.();
    appendFileSync(path.join(dir, 'api.log'), 'f\n');
    poll?.();
    assert.deepEqual(out, ['[api]       new', '[processor] started', '[api]       half']);
  });
});
