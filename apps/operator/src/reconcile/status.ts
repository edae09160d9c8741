// A Site's status from what the reconcile saw. Pure: the reconciler writes what this returns.
import type { V1Deployment } from '@kubernetes/client-node';
import { REASONS, type Reason } from './reasons.ts';

export type ConditionType = 'Ready' | 'Progressing' | 'Degraded';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface SiteCondition {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration: number;
}

export interface SiteStatus {
  observedGeneration: number;
  conditions: SiteCondition[];
  replicas: number;
  readyReplicas: number;
  deploymentName: string;
  /** Empty when the last reconcile had no problem. */
  lastError: string;
}

/** Something that keeps the site from being fully served, with a reason for the condition. */
export interface Problem {
  reason: Reason;
  message: string;
}

export interface Observation {
  generation: number;
  deploymentName: string;
  paused: boolean;
  /** The Deployment as last applied or seen; undefined when there is none (yet). */
  deployment: V1Deployment | undefined;
  /**
   * The Site is not served: its spec fails the contract, the operator's policy refuses it, or
   * another Site holds its site id. No Deployment was applied.
   */
  invalid?: Problem;
  /** Problems next to a running Deployment (missing pull secret, registry unreachable, …). */
  problems: readonly Problem[];
}

interface Rollout {
  done: boolean;
  reason: Reason;
  message: string;
  stuck?: Problem;
}

/** The Deployment's rollout as `kubectl rollout status` judges it. */
export function rolloutOf(deployment: V1Deployment | undefined, paused: boolean): Rollout {
  if (!deployment)
    return { done: false, reason: REASONS.Creating, message: 'Deployment not created yet' };
  const desired = deployment.spec?.replicas ?? 1;
  const status = deployment.status;
  const generation = deployment.metadata?.generation ?? 0;
  const progressing = status?.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === REASONS.ProgressDeadlineExceeded) {
    const stuck = { reason: REASONS.ProgressDeadlineExceeded, message: progressing.message ?? '' };
    return { done: false, reason: stuck.reason, message: stuck.message, stuck };
  }
  if ((status?.observedGeneration ?? 0) < generation) {
    return {
      done: false,
      reason: REASONS.RollingOut,
      message: 'waiting for the Deployment controller',
    };
  }
  const updated = status?.updatedReplicas ?? 0;
  const total = status?.replicas ?? 0;
  const available = status?.availableReplicas ?? 0;
  if (updated < desired) {
    return { done: false, reason: REASONS.RollingOut, message: `${updated} of ${desired} updated` };
  }
  if (total > updated) {
    return {
      done: false,
      reason: REASONS.RollingOut,
      message: `${total - updated} old replicas terminating`,
    };
  }
  if (available < desired) {
    return {
      done: false,
      reason: REASONS.RollingOut,
      message: `${available} of ${desired} available`,
    };
  }
  if (paused) return { done: true, reason: REASONS.Paused, message: 'paused: no simulator runs' };
  return { done: true, reason: REASONS.Available, message: `${available} of ${desired} available` };
}

/**
 * The status to write. A condition keeps its lastTransitionTime while its status stays the same,
 * so the time says when it last flipped, as Kubernetes conventions ask.
 */
export function siteStatus(
  observed: Observation,
  previous: readonly SiteCondition[] | undefined,
  now: Date,
): SiteStatus {
  const condition = (
    type: ConditionType,
    status: ConditionStatus,
    cause: Problem,
  ): SiteCondition => ({
    type,
    status,
    reason: cause.reason,
    message: cause.message,
    lastTransitionTime: '',
    observedGeneration: observed.generation,
  });
  const rollout = rolloutOf(observed.deployment, observed.paused);
  const problems = [
    ...(observed.invalid ? [observed.invalid] : []),
    ...(rollout.stuck ? [rollout.stuck] : []),
    ...observed.problems,
  ];
  const first = problems[0];
  const degraded = first
    ? condition('Degraded', 'True', first)
    : condition('Degraded', 'False', { reason: REASONS.AsExpected, message: '' });
  let ready: SiteCondition;
  let progressing: SiteCondition;
  if (observed.invalid) {
    ready = condition('Ready', 'False', observed.invalid);
    progressing = condition('Progressing', 'False', observed.invalid);
  } else if (rollout.done) {
    ready = condition('Ready', 'True', rollout);
    progressing = condition('Progressing', 'False', {
      reason: REASONS.RolloutComplete,
      message: '',
    });
  } else {
    ready = condition('Ready', 'False', rollout);
    progressing = condition('Progressing', rollout.stuck ? 'False' : 'True', rollout);
  }
  const conditions = [ready, progressing, degraded].map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    const since = before?.status === c.status ? before.lastTransitionTime : '';
    return { ...c, lastTransitionTime: since || now.toISOString().replace(/\.\d+Z$/, 'Z') };
  });
  return {
    observedGeneration: observed.generation,
    conditions,
    replicas: observed.deployment?.status?.replicas ?? 0,
    readyReplicas: observed.deployment?.status?.readyReplicas ?? 0,
    deploymentName: observed.deploymentName,
    lastError: problems.map((p) => p.message).join('; '),
  };
}

/** Whether writing `next` would change anything a reader sees. */
export function statusChanged(current: Partial<SiteStatus> | undefined, next: SiteStatus): boolean {
  return JSON.stringify(normalise(current)) !== JSON.stringify(normalise(next));
}

function normalise(status: Partial<SiteStatus> | undefined): unknown {
  if (!status) return undefined;
  return {
    observedGeneration: status.observedGeneration,
    conditions: (status.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastTransitionTime: c.lastTransitionTime,
      observedGeneration: c.observedGeneration,
    })),
    replicas: status.replicas,
    readyReplicas: status.readyReplicas,
    deploymentName: status.deploymentName,
    lastError: status.lastError ?? '',
  };
}
