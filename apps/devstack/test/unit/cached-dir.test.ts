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
import { ensureCachedDir } from '../../src/tools/cached-dir.ts';

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
    assert.deepEqual(readdirSync(cacheDir), ['tool-v1']);
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
    assert.deepEqual(readdirSync(cacheDir), ['tool-v1']);
  });
});
