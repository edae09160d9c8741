// The reconcile's last phase: the Site's status, and an event for each problem.
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { mergePatch, SITE_GROUP, SITE_PLURAL, SITE_VERSION, statusCode } from '../runtime/kube.ts';
import { FIELD_MANAGER } from './desired.ts';
import type { SiteEvent, SiteRef } from './events.ts';
import { REASONS } from './reasons.ts';
import type { SiteResource } from './reconcile.ts';
import { statusChanged, type Problem, type SiteStatus } from './status.ts';

export interface StatusWrite {
  custom: CustomObjectsApi;
  ref: SiteRef;
  /** The Site as the cache holds it: its status is not written again unchanged. */
  current: SiteResource;
  next: SiteStatus;
}

export async function writeStatus(write: StatusWrite): Promise<void> {
  const { custom, ref, current, next } = write;
  if (!statusChanged(current.status, next)) return;
  try {
    await custom.patchNamespacedCustomObjectStatus(
      {
        group: SITE_GROUP,
        version: SITE_VERSION,
        namespace: ref.namespace,
        plural: SITE_PLURAL,
        name: ref.name,
        body: { status: next },
        fieldManager: FIELD_MANAGER,
      },
      mergePatch,
    );
  } catch (error) {
    // Deleted meanwhile: nothing left to report on.
    if (statusCode(error) === 404) return;
    throw error;
  }
}

/** Reasons found before anything is applied: reported under the Validate action. */
const REFUSALS = new Set<string>([
  REASONS.InvalidSpec,
  REASONS.ImageNotAllowed,
  REASONS.ResourcesAboveLimit,
  REASONS.DuplicateSiteId,
]);

/** The Warning event for a problem, under the phase that ran into it. */
export function problemEvent(problem: Problem): SiteEvent {
  const action = REFUSALS.has(problem.reason)
    ? 'Validate'
    : problem.reason === REASONS.RegistrySyncFailed
      ? 'SyncRegistry'
      : 'Apply';
  return { type: 'Warning', reason: problem.reason, action, note: problem.message };
}
