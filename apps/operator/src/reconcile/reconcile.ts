// One Site, level-based and idempotent: read the world, apply the desired Deployment, sync the
// registry, write status and events. Called by the controller's workers, one key at a time.
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { parseSite, type Logger, type Site } from '@telemetrypulse/shared';
import {
  deploymentName,
  desiredDeployment,
  FIELD_MANAGER,
  type SimulatorDefaults,
} from './desired.ts';
import type { EventRecorder, SiteRef } from './events.ts';
import {
  errorMessage,
  mergePatch,
  serverSideApply,
  SITE_GROUP,
  SITE_PLURAL,
  SITE_VERSION,
  statusCode,
  type KubeClients,
} from '../runtime/kube.ts';
import type { SiteRegistry } from './site-registry.ts';
import { siteStatus, statusChanged, type Problem, type SiteStatus } from './status.ts';

/** A Site as the API serves it. */
export interface SiteResource extends KubernetesObject {
  spec?: unknown;
  status?: Partial<SiteStatus>;
}

/** Read-only views of the informers' caches. */
export interface Caches {
  site(namespace: string, name: string): SiteResource | undefined;
  /** Every Site with this name, in any watched namespace. */
  sitesNamed(name: string): readonly SiteResource[];
  deployment(namespace: string, name: string): V1Deployment | undefined;
}

export interface ReconcileDeps {
  clients: KubeClients;
  caches: Caches;
  defaults: SimulatorDefaults;
  registry: SiteRegistry | undefined;
  recorder: EventRecorder;
  logger: Logger;
}

export interface ReconcileResult {
  /** Reconcile again after this long even without a change (e.g. waiting for a Secret). */
  requeueAfterMs?: number;
}

/** A failed reconcile that should be retried with backoff; status and events are already written. */
export class RetryableError extends Error {
  override name = 'RetryableError';
}

const WAIT_FOR_SECRET_MS = 30_000;

export function createReconciler(deps: ReconcileDeps) {
  const { clients, caches, defaults, registry, recorder, logger } = deps;
  // The Deployment generation our last apply produced, per Site: a newer one means we changed it.
  const appliedGeneration = new Map<string, number>();

  async function missingPullSecrets(namespace: string): Promise<Problem | undefined> {
    const missing: string[] = [];
    for (const name of defaults.imagePullSecrets) {
      try {
        await clients.core.readNamespacedSecret({ name, namespace });
      } catch (error) {
        if (statusCode(error) !== 404) {
          return { reason: 'ImagePullSecretUnreadable', message: errorMessage(error) };
        }
        missing.push(name);
      }
    }
    if (missing.length === 0) return undefined;
    return {
      reason: 'ImagePullSecretMissing',
      message: `image pull secret ${missing.join(', ')} not found in namespace ${namespace}`,
    };
  }

  async function writeStatus(ref: SiteRef, current: SiteResource, next: SiteStatus) {
    if (!statusChanged(current.status, next)) return;
    try {
      await clients.custom.patchNamespacedCustomObjectStatus(
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

  async function siteGone(key: string, namespace: string, name: string): Promise<void> {
    appliedGeneration.delete(key);
    recorder.forget(key);
    // The Deployment goes with its owner (garbage collector). The registry entry is ours to clear,
    // unless a Site of the same name lives on in another namespace.
    if (registry && caches.sitesNamed(name).length === 0) {
      await registry.clear(name);
      logger.info({ site: name, namespace }, 'site removed from the registry');
    }
  }

  async function apply(key: string, site: Site, ref: SiteRef) {
    const body = desiredDeployment(site, ref, defaults);
    const name = deploymentName(site.siteId);
    const before = caches.deployment(ref.namespace, name);
    const applied = await clients.apps.patchNamespacedDeployment(
      { name, namespace: ref.namespace, body, fieldManager: FIELD_MANAGER, force: true },
      serverSideApply,
    );
    const generation = applied.metadata?.generation ?? 0;
    const previous = appliedGeneration.get(key) ?? before?.metadata?.generation;
    appliedGeneration.set(key, generation);
    const change = previous === undefined ? 'Created' : generation > previous ? 'Updated' : '';
    return { applied, change };
  }

  return async function reconcile(key: string): Promise<ReconcileResult> {
    const [namespace = '', name = ''] = key.split('/');
    const resource = caches.site(namespace, name);
    if (!resource?.metadata?.uid || resource.metadata.deletionTimestamp) {
      await siteGone(key, namespace, name);
      return {};
    }
    const ref: SiteRef = { name, namespace, uid: resource.metadata.uid };
    const generation = resource.metadata.generation ?? 0;
    const previous = resource.status?.conditions;
    const depName = deploymentName(name);
    const observation = {
      generation,
      deploymentName: depName,
      paused: false,
      deployment: caches.deployment(namespace, depName),
      problems: [] as Problem[],
    };

    let site: Site;
    try {
      site = parseSite({ ...resource, spec: resource.spec ?? {} });
    } catch (error) {
      // Nothing to retry: the next change to the spec brings the Site back here.
      const invalid = { reason: 'InvalidSpec', message: errorMessage(error) };
      await writeStatus(
        ref,
        resource,
        siteStatus({ ...observation, invalid }, previous, new Date()),
      );
      await recorder.record(ref, {
        type: 'Warning',
        reason: invalid.reason,
        action: 'Validate',
        note: invalid.message,
      });
      return {};
    }
    observation.paused = site.spec.paused;

    const problems = observation.problems;
    let retry: unknown;
    const secretProblem = await missingPullSecrets(namespace);
    if (secretProblem) problems.push(secretProblem);
    try {
      const { applied, change } = await apply(key, site, ref);
      observation.deployment = applied;
      if (change) {
        await recorder.record(ref, {
          type: 'Normal',
          reason: change,
          action: 'Apply',
          note: `${change} Deployment ${depName}${site.spec.paused ? ' (paused: 0 replicas)' : ''}`,
        });
      }
    } catch (error) {
      retry = error;
      problems.push({ reason: 'ApplyFailed', message: errorMessage(error) });
    }
    if (registry) {
      try {
        if (await registry.upsert(site)) logger.info({ site: name }, 'registry updated');
      } catch (error) {
        retry ??= error;
        problems.push({ reason: 'RegistrySyncFailed', message: errorMessage(error) });
      }
    }

    await writeStatus(ref, resource, siteStatus(observation, previous, new Date()));
    for (const problem of problems) {
      await recorder.record(ref, {
        type: 'Warning',
        reason: problem.reason,
        action: problem.reason === 'RegistrySyncFailed' ? 'SyncRegistry' : 'Apply',
        note: problem.message,
      });
    }
    if (retry !== undefined) {
      throw new RetryableError(problems.map((p) => `${p.reason}: ${p.message}`).join('; '), {
        cause: retry,
      });
    }
    return secretProblem ? { requeueAfterMs: WAIT_FOR_SECRET_MS } : {};
  };
}

export type Reconcile = ReturnType<typeof createReconciler>;
