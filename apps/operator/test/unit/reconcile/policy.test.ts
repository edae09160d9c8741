import assert from 'node:assert/strict';
import { parseSite, SITE_API_VERSION, SITE_KIND } from '@telemetrypulse/shared';
import { loadConfig } from '../../../src/config.ts';
import { simulatorResources } from '../../../src/reconcile/desired.ts';
import { simulatorDefaults, sitePolicy } from '../../../src/operator.ts';
import {
  imageAllowed,
  imageRepository,
  policyProblem,
  quantityValue,
} from '../../../src/reconcile/policy.ts';
import { REASONS } from '../../../src/reconcile/reasons.ts';

function site(spec: Record<string, unknown>) {
  return parseSite({
    apiVersion: SITE_API_VERSION,
    kind: SITE_KIND,
    metadata: { name: 'hq' },
    spec,
  });
}

/** The problem the operator, configured with `env`, finds with a Site of this spec. */
function problemWith(env: Record<string, string>, spec: Record<string, unknown>) {
  const config = loadConfig(env);
  const s = site(spec);
  return policyProblem(s, simulatorResources(s, simulatorDefaults(config)), sitePolicy(config));
}

describe('site policy', () => {
  it('when image references have tags, digests or registry ports, then the repository is what precedes them', () => {
    assert.equal(imageRepository('telemetrypulse/simulator:0.1.0'), 'telemetrypulse/simulator');
    assert.equal(imageRepository('reg.example:5000/tp/simulator'), 'reg.example:5000/tp/simulator');
    assert.equal(
      imageRepository(`reg.example:5000/tp/simulator:1@sha256:${'a'.repeat(64)}`),
      'reg.example:5000/tp/simulator',
    );
  });

  it('when an entry is a repository, then any tag or digest of it is allowed and no look-alike is', () => {
    const allowed = ['telemetrypulse/simulator'];
    assert.ok(imageAllowed('telemetrypulse/simulator:0.2.0', allowed));
    assert.ok(imageAllowed(`telemetrypulse/simulator@sha256:${'b'.repeat(64)}`, allowed));
    assert.ok(!imageAllowed('telemetrypulse/simulator-debug:0.2.0', allowed));
    assert.ok(!imageAllowed('evil.example/telemetrypulse/simulator:0.2.0', allowed));
    assert.ok(!imageAllowed('telemetrypulse/simulator/../x:1', allowed));
  });

  it('when an entry is a prefix or an exact reference, then only images under it or that very image are allowed', () => {
    assert.ok(imageAllowed('reg.example/team/sim:1', ['reg.example/team/']));
    assert.ok(!imageAllowed('reg.example/teamother/sim:1', ['reg.example/team/']));
    assert.ok(imageAllowed('busybox:1.36', ['busybox:1.36']));
    assert.ok(!imageAllowed('busybox:latest', ['busybox:1.36']));
  });

  it('when quantities use suffixes, fractions or exponents, then they compare by value', () => {
    assert.equal(quantityValue('500m'), 0.5);
    assert.equal(quantityValue(2), 2);
    assert.equal(quantityValue('1.5Gi'), 1.5 * 2 ** 30);
    assert.equal(quantityValue('1e3'), 1000);
    assert.equal(quantityValue('1E'), 1e18);
    assert.equal(quantityValue('128M'), 128e6);
    assert.throws(() => quantityValue('12 apples'), /not a Kubernetes quantity/);
  });

  it("when nothing is configured, then a Site may run the operator's own simulator repository only", () => {
    const env = { SIMULATOR_IMAGE: 'reg.example/tp/simulator:0.1.0' };
    assert.equal(problemWith(env, {}), undefined);
    assert.equal(
      problemWith(env, { simulator: { image: 'reg.example/tp/simulator:0.2.0' } }),
      undefined,
    );
    const refused = problemWith(env, { simulator: { image: 'attacker/miner:latest' } });
    assert.equal(refused?.reason, REASONS.ImageNotAllowed);
    assert.match(refused.message, /attacker\/miner:latest is not allowed by SITE_ALLOWED_IMAGES/);
    assert.match(refused.message, /reg\.example\/tp\/simulator$/);
  });

  it('when a Site asks for more cpu, memory or rate than the caps, then it is refused naming each setting', () => {
    const refused = problemWith(
      { SITE_MAX_CPU: '500m', SITE_MAX_MEMORY: '512Mi', SITE_MAX_EVENTS_PER_SECOND: '100' },
      {
        eventsPerSecond: 250,
        simulator: { resources: { requests: { cpu: '250m' }, limits: { cpu: 2, memory: '1Gi' } } },
      },
    );
    assert.equal(refused?.reason, REASONS.ResourcesAboveLimit);
    assert.equal(
      refused.message,
      'simulator limits.cpu 2 is above SITE_MAX_CPU (chart: operator.siteLimits.cpu) (500m); ' +
        'simulator limits.memory 1Gi is above SITE_MAX_MEMORY (chart: operator.siteLimits.memory) (512Mi); ' +
        'spec.eventsPerSecond 250 is above SITE_MAX_EVENTS_PER_SECOND (chart: operator.siteLimits.eventsPerSecond) (100)',
    );
  });

  it('when a Site asks for exactly the caps, then it is allowed', () => {
    const env = { SITE_MAX_CPU: '1', SITE_MAX_MEMORY: '1Gi', SITE_MAX_EVENTS_PER_SECOND: '100' };
    const spec = {
      eventsPerSecond: 100,
      simulator: {
        resources: { requests: { cpu: '1000m', memory: '1024Mi' }, limits: { cpu: 1 } },
      },
    };
    assert.equal(problemWith(env, spec), undefined);
  });
});
