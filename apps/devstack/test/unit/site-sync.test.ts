// The local stack applies edited Site manifests as the operator applies edited Sites: what the
// simulators must do, and the folder watch that notices an edit.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseSite, simulatorEnv, type Site } from '@telemetrypulse/shared';
import { planSimulators, watchSites } from '../../src/stack/site-sync.ts';

function site(name: string, spec: Record<string, unknown> = {}): Site {
  return parseSite({
    apiVersion: 'telemetrypulse.io/v1alpha1',
    kind: 'Site',
    metadata: { name },
    spec: { zones: 2, devicesPerZone: 1, eventsPerSecond: 5, ...spec },
  });
}

const manifest = (name: string, extra = '') =>
  `apiVersion: telemetrypulse.io/v1alpha1\nkind: Site\nmetadata:\n  name: ${name}\n` +
  `spec:\n  zones: 2\n  devicesPerZone: 1\n  eventsPerSecond: 5\n${extra}`;

describe('planSimulators', () => {
  it('starts a simulator per site when none runs', () => {
    const plan = planSimulators(new Map(), [site('a'), site('b')]);
    assert.deepEqual(
      plan.start.map((s) => s.siteId),
      ['a', 'b'],
    );
    assert.deepEqual(plan.restart, []);
    assert.deepEqual(plan.stop, []);
  });

  it('leaves a simulator alone when only alert thresholds changed', () => {
    const running = new Map([['a', simulatorEnv(site('a'))]]);
    const plan = planSimulators(running, [site('a', { thresholds: { co2: 400 } })]);
    assert.deepEqual(plan, { start: [], restart: [], stop: [] });
  });

  it('restarts a simulator whose rate or zones changed', () => {
    const running = new Map([
      ['a', simulatorEnv(site('a'))],
      ['b', simulatorEnv(site('b'))],
    ]);
    const plan = planSimulators(running, [site('a', { eventsPerSecond: 50 }), site('b')]);
    assert.deepEqual(
      plan.restart.map((s) => s.siteId),
      ['a'],
    );
    assert.deepEqual(plan.start, []);
    assert.deepEqual(plan.stop, []);
  });

  it('stops the simulators of removed and paused sites', () => {
    const running = new Map([
      ['a', simulatorEnv(site('a'))],
      ['b', simulatorEnv(site('b'))],
      ['c', simulatorEnv(site('c'))],
    ]);
    const plan = planSimulators(running, [site('a'), site('b', { paused: true })]);
    assert.deepEqual(plan.stop, ['b', 'c']);
    assert.deepEqual(plan.start, []);
  });
});

describe('watchSites', () => {
  let dir: string;
  let stop: (() => void) | undefined;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tp-sites-'));
    writeFileSync(path.join(dir, 'sites.yaml'), manifest('a'));
  });
  afterEach(() => {
    stop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports every Site once an edited manifest is saved', async () => {
    const seen = new Promise<Site[]>((resolve, reject) => {
      stop = watchSites(dir, resolve, reject, 50);
    });
    writeFileSync(path.join(dir, 'sites.yaml'), manifest('a', '  thresholds:\n    co2: 400\n'));
    const sites = await seen;
    assert.deepEqual(
      sites.map((s) => [s.siteId, s.spec.thresholds]),
      [['a', { co2: 400 }]],
    );
  });

  it('reports a manifest that does not parse as an error, naming the file', async () => {
    const failed = new Promise<Error>((resolve, reject) => {
      const applied = () => {
        reject(new Error('bad sites were applied'));
      };
      stop = watchSites(dir, applied, resolve, 50);
    });
    writeFileSync(path.join(dir, 'sites.yaml'), manifest('a', '  zones: many\n'));
    const error = await failed;
    assert.match(error.message, /sites\.yaml/);
  });
});
