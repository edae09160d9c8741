import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildKind, ensureCachedDir, heartbeatLine } from '../../src/tools/cached-dir.ts';

describe('cached folder', () => {
  let cacheDir: string;
  beforeEach(() => {
    cacheDir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-cache-test-'));
  });
  afterEach(() => {
    rmSync(cacheDir, { recursive: true, force: true });
  });

  const build = (counter: { builds: number }) => async (dir: string) => {
    counter.builds++;
    await new Promise((resolve) => setTimeout(resolve, 50));
    writeFileSync(path.join(dir, 'tool'), 'built');
  };

  it('when two callers ask at once, then it is built once and both get it', async () => {
    const counter = { builds: 0 };
    const options = { cacheDir, pollMs: 10 };
    const [a, b] = await Promise.all([
      ensureCachedDir('tool-v1', build(counter), options),
      ensureCachedDir('tool-v1', build(counter), options),
    ]);
    assert.equal(a, b);
    assert.equal(counter.builds, 1);
    assert.equal(readFileSync(path.join(a, 'tool'), 'utf8'), 'built');
    // The lock and the dead builder's folder are gone (the build's duration is kept beside).
    assert.deepEqual(
      readdirSync(cacheDir).filter((f) => !f.endsWith('.last-build-ms')),
      ['tool-v1'],
    );
  });

  it('when it is cached, then it is not built again', async () => {
    const counter = { builds: 0 };
    await ensureCachedDir('tool-v1', build(counter), { cacheDir });
    await ensureCachedDir('tool-v1', build(counter), { cacheDir });
    assert.equal(counter.builds, 1);
  });

  it('when a build fails, then nothing is left under the final name and the next call builds', async () => {
    await assert.rejects(
      ensureCachedDir(
        'tool-v1',
        (dir) => {
          writeFileSync(path.join(dir, 'half'), '');
          return Promise.reject(new Error('compiler exploded'));
        },
        { cacheDir },
      ),
      /compiler exploded/,
    );
    assert.deepEqual(readdirSync(cacheDir), []);
    const counter = { builds: 0 };
    await ensureCachedDir('tool-v1', build(counter), { cacheDir });
    assert.equal(counter.builds, 1);
  });

  it('when the lock belongs to a process that died, then the build goes ahead', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = dead.stdout.toString();
    writeFileSync(path.join(cacheDir, 'tool-v1.lock'), deadPid);
    mkdirSync(path.join(cacheDir, `tool-v1.tmp-${deadPid}`));
    const counter = { builds: 0 };
    const dir = await ensureCachedDir('tool-v1', build(counter), { cacheDir, pollMs: 10 });
    assert.equal(counter.builds, 1);
    assert.ok(existsSync(path.join(dir, 'tool')));
    // The lock and the dead builder's folder are gone (the build's duration is kept beside).
    assert.deepEqual(
      readdirSync(cacheDir).filter((f) => !f.endsWith('.last-build-ms')),
      ['tool-v1'],
    );
  });
});

describe('cached folder progress', () => {
  it('when a build has a version in its name, then its kind is what stays across versions', () => {
    assert.equal(buildKind('kube-v1.34.4-etcd-v3.6.16'), 'kube');
    assert.equal(buildKind('kube-node-v1.34.4'), 'kube-node');
    assert.equal(buildKind('coredns-v1.15.0'), 'coredns');
    assert.equal(buildKind('base-node-24.21.0-bookworm'), 'base-node');
  });

  it('when a build is still going, then the heartbeat says for how long and how long the last one took', () => {
    assert.equal(heartbeatLine('kube-v1', 95_000), '  still building kube-v1: 1m35s so far');
    assert.equal(
      heartbeatLine('kube-v1', 30_000, 1_800_000),
      '  still building kube-v1: 0m30s so far; the last build here took 30m00s',
    );
  });

  it('when a build finished, then the next build of that kind is told how long it took', async () => {
    const cacheDir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-cache-test-'));
    try {
      const lines: string[] = [];
      await ensureCachedDir(
        'tool-v1',
        async (dir) => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          writeFileSync(path.join(dir, 'tool'), 'built');
        },
        { cacheDir, log: (line) => lines.push(line) },
      );
      const recorded = Number(readFileSync(path.join(cacheDir, 'tool.last-build-ms'), 'utf8'));
      assert.ok(recorded > 0, 'the duration of the build is kept');
      // The next version's build hears about it in its heartbeat (a 1 ms interval and a build
      // that waits for the first heartbeat: no timing is asserted).
      await ensureCachedDir(
        'tool-v2',
        async (dir) => {
          while (lines.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
          writeFileSync(path.join(dir, 'tool'), 'built');
        },
        { cacheDir, heartbeatMs: 1, log: (line) => lines.push(line) },
      );
      assert.match(lines[0] ?? '', /still building tool-v2: .* the last build here took/);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
