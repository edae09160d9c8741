// One Site, level-based and idempotent: read the world, validate the spec, apply the desired
// Deployment, sync the registry, write status and events. Called by the controller's workers, one
// key at a time.
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { parseSite, type Logger, type Site } from '@telemetrypulse/shared';
import { errorMessage, kubeError, type KubeClients } from '../runtime/kube.ts';
import { createDeploymentApplier, missingPullSecrets, scaleToZero } from './apply.ts';
import { deploymentName, simulatorResources, type SimulatorDefaults } from './desired.ts';
import type { EventRecorder, SiteRef } from './events.ts';
import { REASONS, type Reason } from './reasons.ts';
import { problemEvent, writeStatus } from './report.ts';
import { policyProblem, type SitePolicy } from './policy.ts';
import { duplicateSiteId } from './site-id.ts';
import type { SiteRegistry } from './site-registry.ts';
import { siteStatus, type Observation, type Problem, type SiteStatus } from './status.ts';

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
  policy: SitePolicy;
  siteRegistry: SiteRegistry | undefined;
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

/** A phase that failed: the problem to report and the error to retry on. */
interface Failure {
  problem: Problem;
  error: unknown;
}

function failure(reason: Reason, error: unknown): Failure {
  return { problem: { reason, message: errorMessage(error) }, error };
}

/** The Site's spec by the contract, or why it cannot be served. */
function validate(resource: SiteResource): { site: Site } | { invalid: Problem } {
  try {
    return { site: parseSite({ ...resource, spec: resource.spec ?? {} }) };
  } catch (error) {
    return { invalid: { reason: REASONS.InvalidSpec, message: errorMessage(error) } };
  }
}

export function createReconciler(deps: ReconcileDeps) {
  const { clients, caches, defaults, policy, siteRegistry, recorder, logger } = deps;
  const applier = createDeploymentApplier({ clients, caches, defaults });

  async function siteGone(key: string, namespace: string, name: string): Promise<void> {
    applier.forget(key);
    recorder.forget(key);
    // The Deployment goes with its owner (garbage collector). The registry entry is ours to clear,
    // unless a Site of the same name lives on in another namespace.
    if (siteRegistry && caches.sitesNamed(name).length === 0) {
      await siteRegistry.clear(name);
      logger.info({ site: name, namespace }, 'site removed from the registry');
    }
  }

  /** Applies the Deployment; records an event when that created or changed it. */
  async function applyPhase(
    key: string,
    site: Site,
    ref: SiteRef,
  ): Promise<{ deployment?: V1Deployment; failure?: Failure }> {
    try {
      const { deployment, change } = await applier.apply(key, site, ref);
      if (change) {
        const paused = site.spec.paused ? ' (paused: 0 replicas)' : '';
        await recorder.record(ref, {
          type: 'Normal',
          reason: change,
          action: 'Apply',
          note: `${change} Deployment ${deploymentName(site.siteId)}${paused}`,
        });
      }
      return { deployment };
    } catch (error) {
      return { failure: failure(REASONS.ApplyFailed, error) };
    }
  }

  /** Why this Site may not run: its site id is taken, or it asks for more than the policy allows. */
  function refusal(resource: SiteResource, site: Site): Problem | undefined {
    return (
      duplicateSiteId(resource, caches.sitesNamed(site.siteId)) ??
      policyProblem(site, simulatorResources(site, defaults), policy)
    );
  }

  /** A refused Site: no Deployment is created or updated, an existing one is held at 0. */
  async function refuse(ref: SiteRef, resource: SiteResource, seen: Observation, refused: Problem) {
    let { deployment } = seen;
    let failed: Failure | undefined;
    if (deployment) {
      try {
        deployment = await scaleToZero(clients.apps, deployment);
      } catch (error) {
        failed = failure(REASONS.ApplyFailed, error);
      }
    }
    const held = deployment ? `; Deployment ${seen.deploymentName} is held at 0 replicas` : '';
    const invalid = { reason: refused.reason, message: `${refused.message}${held}` };
    const problems = failed ? [failed.problem] : [];
    await report(ref, resource, { ...seen, deployment, invalid, problems });
    if (failed) {
      throw new RetryableError(`${failed.problem.reason}: ${failed.problem.message}`, {
        cause: kubeError(failed.error),
      });
    }
  }

  async function syncRegistry(site: Site): Promise<Failure | undefined> {
    if (!siteRegistry) return undefined;
    try {
      if (await siteRegistry.upsert(site)) logger.info({ site: site.siteId }, 'registry updated');
      return undefined;
    } catch (error) {
      return failure(REASONS.RegistrySyncFailed, error);
    }
  }

  /** Writes the status from what the phases saw, then a Warning event per problem. */
  async function report(ref: SiteRef, resource: SiteResource, observation: Observation) {
    const previous = resource.status?.conditions;
    const next = siteStatus(observation, previous, new Date());
    await writeStatus({ custom: clients.custom, ref, current: resource, next });
    const problems = observation.invalid ? [observation.invalid] : observation.problems;
    for (const problem of problems) await recorder.record(ref, problemEvent(problem));
  }

  return async function reconcile(key: string): Promise<ReconcileResult> {
    const [namespace = '', name = ''] = key.split('/');
    const resource = caches.site(namespace, name);
    if (!resource?.metadata?.uid || resource.metadata.deletionTimestamp) {
      await siteGone(key, namespace, name);
      return {};
    }
    const ref: SiteRef = { name, namespace, uid: resource.metadata.uid };
    const depName = deploymentName(name);
    const seen: Observation = {
      generation: resource.metadata.generation ?? 0,
      deploymentName: depName,
      paused: false,
      deployment: caches.deployment(namespace, depName),
      problems: [],
    };

    const validated = validate(resource);
    if ('invalid' in validated) {
      // Nothing to retry: the next change to the spec brings the Site back here.
      await report(ref, resource, { ...seen, invalid: validated.invalid });
      return {};
    }
    const { site } = validated;
    const refused = refusal(resource, site);
    if (refused) {
      // Nothing to retry: a change to the Site, a Site of its name or the policy brings it back.
      await refuse(ref, resource, seen, refused);
      return {};
    }
    const secretProblem = await missingPullSecrets({
      core: clients.core,
      namespace,
      names: defaults.imagePullSecrets,
    });
    const applied = await applyPhase(key, site, ref);
    const failures = [applied.failure, await syncRegistry(site)].filter((f) => f !== undefined);
    const problems = [...(secretProblem ? [secretProblem] : []), ...failures.map((f) => f.problem)];
    await report(ref, resource, {
      ...seen,
      paused: site.spec.paused,
      deployment: applied.deployment ?? seen.deployment,
      problems,
    });

    const [retry] = failures;
    if (retry) {
      throw new RetryableError(problems.map((p) => `${p.reason}: ${p.message}`).join('; '), {
        cause: kubeError(retry.error),
      });
    }
    return secretProblem ? { requeueAfterMs: WAIT_FOR_SECRET_MS } : {};
  };
}

export type Reconcile = ReturnType<typeof createReconciler>;
