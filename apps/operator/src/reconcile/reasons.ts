// The reasons the operator writes on a Site's conditions and events. They are part of its API:
// `kubectl get tps` shows them and alerts or scripts may match on them, so rename none.
export const REASONS = {
  // Ready, from the Deployment's rollout.
  Available: 'Available',
  Paused: 'Paused',
  Creating: 'Creating',
  RollingOut: 'RollingOut',
  /** The Deployment controller's own reason on its Progressing condition, passed on as is. */
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  // Progressing and Degraded when all is well.
  RolloutComplete: 'RolloutComplete',
  AsExpected: 'AsExpected',
  // Problems: Degraded (and, for InvalidSpec, Ready and Progressing) and a Warning event each.
  InvalidSpec: 'InvalidSpec',
  // Refused by the operator's policy or by another Site: no simulator runs (Ready, Progressing,
  // Degraded and a Warning event, as InvalidSpec).
  ImageNotAllowed: 'ImageNotAllowed',
  ResourcesAboveLimit: 'ResourcesAboveLimit',
  DuplicateSiteId: 'DuplicateSiteId',
  ImagePullSecretMissing: 'ImagePullSecretMissing',
  ImagePullSecretUnreadable: 'ImagePullSecretUnreadable',
  ApplyFailed: 'ApplyFailed',
  RegistrySyncFailed: 'RegistrySyncFailed',
  // Normal events on a change to the Deployment.
  Created: 'Created',
  Updated: 'Updated',
} as const;

export type Reason = (typeof REASONS)[keyof typeof REASONS];
