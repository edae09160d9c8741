import assert from 'node:assert/strict';
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   client-node's models are plain data to its serializer; tests build them as literals. */
import type { V1Deployment } from '@kubernetes/client-node';
import { REASONS } from '../../../src/reconcile/reasons.ts';
import {
  siteStatus,
  statusChanged,
  type Observation,
  type SiteCondition,
} from '../../../src/reconcile/status.ts';

const T0 = new Date('2025-01-01T00:00:00.000Z');
const T1 = new Date('2025-01-01T00:05:00.000Z');

function deployment(
  replicas: number,
  status: {
    observed?: number;
    updated?: number;
    total?: number;
    available?: number;
    ready?: number;
  },
  generation = 2,
): V1Deployment {
  return {
    metadata: { name: 'sim-hq', generation },
    spec: { replicas, selector: {}, template: {} },
    status: {
      observedGeneration: status.observed ?? generation,
      updatedReplicas: status.updated,
      replicas: status.total,
      availableReplicas: status.available,
      readyReplicas: status.ready,
    },
  };
}

function observe(extra: Partial<Observation>): Observation {
  return {
    generation: 3,
    deploymentName: 'sim-hq',
    paused: false,
    deployment: undefined,
    problems: [],
    ...extra,
  };
}

const byType = (conditions: SiteCondition[]) =>
  Object.fromEntries(conditions.map((c) => [c.type, `${c.status}/${c.reason}`]));

describe('operator Site status', () => {
  it('when the simulator is available, then the Site is Ready and not progressing', () => {
    const status = siteStatus(
      observe({ deployment: deployment(1, { updated: 1, total: 1, available: 1, ready: 1 }) }),
      undefined,
      T0,
    );
    assert.deepEqual(byType(status.conditions), {
      Ready: `True/${REASONS.Available}`,
      Progressing: `False/${REASONS.RolloutComplete}`,
      Degraded: `False/${REASONS.AsExpected}`,
    });
    assert.equal(status.observedGeneration, 3);
    assert.equal(status.readyReplicas, 1);
    assert.equal(status.deploymentName, 'sim-hq');
    assert.equal(status.lastError, '');
    assert.ok(status.conditions.every((c) => c.observedGeneration === 3));
  });

  it('when pods are not ready yet or the controller has not seen the change, then it is progressing', () => {
    for (const d of [
      deployment(1, { updated: 1, total: 1, available: 0 }),
      deployment(1, { observed: 1, updated: 1, total: 1, available: 1 }),
      deployment(1, { updated: 1, total: 2, available: 1 }),
      undefined,
    ]) {
      const status = siteStatus(observe({ deployment: d }), undefined, T0);
      assert.equal(byType(status.conditions).Ready?.startsWith('False/'), true);
      assert.equal(byType(status.conditions).Progressing?.startsWith('True/'), true);
      assert.equal(byType(status.conditions).Degraded, `False/${REASONS.AsExpected}`);
    }
  });

  it('when the Site is paused and no pod is left, then it is Ready with reason Paused', () => {
    const status = siteStatus(
      observe({ paused: true, deployment: deployment(0, { updated: 0, total: 0, available: 0 }) }),
      undefined,
      T0,
    );
    assert.equal(byType(status.conditions).Ready, `True/${REASONS.Paused}`);
  });

  it('when a pull secret is missing, then the Site is Degraded with that reason and the message in lastError', () => {
    const problem = {
      reason: REASONS.ImagePullSecretMissing,
      message: 'image pull secret x not found',
    };
    const status = siteStatus(
      observe({
        deployment: deployment(1, { updated: 1, total: 1, available: 0 }),
        problems: [problem],
      }),
      undefined,
      T0,
    );
    assert.equal(byType(status.conditions).Degraded, `True/${REASONS.ImagePullSecretMissing}`);
    assert.equal(status.lastError, 'image pull secret x not found');
  });

  it('when the spec is invalid, then Ready and Progressing are False and Degraded True, all with InvalidSpec', () => {
    const invalid = {
      reason: REASONS.InvalidSpec,
      message: 'Site hq: spec.thresholds.co2.clear …',
    };
    const status = siteStatus(observe({ invalid }), undefined, T0);
    assert.deepEqual(byType(status.conditions), {
      Ready: `False/${REASONS.InvalidSpec}`,
      Progressing: `False/${REASONS.InvalidSpec}`,
      Degraded: `True/${REASONS.InvalidSpec}`,
    });
  });

  it('when the rollout is past its deadline, then the Site is Degraded and no longer progressing', () => {
    const d = deployment(1, { updated: 1, total: 1, available: 0 });
    d.status!.conditions = [
      {
        type: 'Progressing',
        status: 'False',
        reason: REASONS.ProgressDeadlineExceeded,
        message: 'ReplicaSet "sim-hq-1" has timed out progressing.',
      },
    ];
    const status = siteStatus(observe({ deployment: d }), undefined, T0);
    assert.equal(byType(status.conditions).Degraded, `True/${REASONS.ProgressDeadlineExceeded}`);
    assert.equal(
      byType(status.conditions).Progressing,
      `False/${REASONS.ProgressDeadlineExceeded}`,
    );
  });

  it('when a condition keeps its status, then its transition time stays; when it flips, the time moves', () => {
    const rolling = siteStatus(
      observe({ deployment: deployment(1, { updated: 1, total: 1, available: 0 }) }),
      undefined,
      T0,
    );
    const ready = siteStatus(
      observe({ deployment: deployment(1, { updated: 1, total: 1, available: 1 }) }),
      rolling.conditions,
      T1,
    );
    const time = (s: typeof ready, type: string) =>
      s.conditions.find((c) => c.type === type)?.lastTransitionTime;
    assert.equal(time(rolling, 'Ready'), '2025-01-01T00:00:00Z');
    assert.equal(time(ready, 'Ready'), '2025-01-01T00:05:00Z');
    assert.equal(time(ready, 'Degraded'), '2025-01-01T00:00:00Z');
    assert.equal(statusChanged(rolling, ready), true);
    const again = siteStatus(
      observe({ deployment: deployment(1, { updated: 1, total: 1, available: 1 }) }),
      ready.conditions,
      new Date('2025-01-01T01:00:00.000Z'),
    );
    assert.equal(statusChanged(ready, again), false, 'nothing new: nothing to write');
  });
});
