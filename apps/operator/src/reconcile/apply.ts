// The reconcile's apply phase: the pull secrets the simulators need, and the Deployment itself by
// server-side apply.
import type { AppsV1Api, CoreV1Api, V1Deployment } from '@kubernetes/client-node';
import type { Site } from '@telemetrypulse/shared';
import {
  errorMessage,
  mergePatch,
  serverSideApply,
  statusCode,
  type KubeClients,
} from '../runtime/kube.ts';
import {
  deploymentName,
  desiredDeployment,
  FIELD_MANAGER,
  type SimulatorDefaults,
} from './desired.ts';
import type { SiteRef } from './events.ts';
import { REASONS } from './reasons.ts';
import type { Caches } from './reconcile.ts';
import type { Problem } from './status.ts';

export interface PullSecretCheck {
  core: CoreV1Api;
  namespace: string;
  names: readonly string[];
}

/** The pull secrets missing from the Site's namespace, as a problem; undefined when all are there. */
export async function missingPullSecrets(check: PullSecretCheck): Promise<Problem | undefined> {
  const { core, namespace } = check;
  const missing: string[] = [];
  for (const name of check.names) {
    try {
      await core.readNamespacedSecret({ name, namespace });
    } catch (error) {
      if (statusCode(error) !== 404) {
        return { reason: REASONS.ImagePullSecretUnreadable, message: errorMessage(error) };
      }
      missing.push(name);
    }
  }
  if (missing.length === 0) return undefined;
  return {
    reason: REASONS.ImagePullSecretMissing,
    message: `image pull secret ${missing.join(', ')} not found in namespace ${namespace}`,
  };
}

/**
 * A refused Site runs no simulator. Its Deployment, if it has one, is scaled to 0 and otherwise
 * left with the last accepted spec: correcting the Site (or the policy) brings it back as it was.
 * Returns the Deployment as it is afterwards.
 */
export async function scaleToZero(
  apps: AppsV1Api,
  deployment: V1Deployment,
): Promise<V1Deployment> {
  if (deployment.spec?.replicas === 0) return deployment;
  return apps.patchNamespacedDeployment(
    {
      name: deployment.metadata?.name ?? '',
      namespace: deployment.metadata?.namespace ?? '',
      body: { spec: { replicas: 0 } },
      fieldManager: FIELD_MANAGER,
    },
    mergePatch,
  );
}

export interface Applied {
  deployment: V1Deployment;
  /** The event reason when the apply changed the Deployment; undefined when it was as desired. */
  change: typeof REASONS.Created | typeof REASONS.Updated | undefined;
}

export interface DeploymentApplierOptions {
  clients: KubeClients;
  caches: Caches;
  defaults: SimulatorDefaults;
}

export interface DeploymentApplier {
  /** Applies the Site's desired Deployment; `key` is the Site's namespace/name. */
  apply(key: string, site: Site, ref: SiteRef): Promise<Applied>;
  /** The Site is gone. */
  forget(key: string): void;
}

export function createDeploymentApplier(options: DeploymentApplierOptions): DeploymentApplier {
  const { clients, caches, defaults } = options;
  // The Deployment generation our last apply produced, per Site: a newer one means we changed it.
  const appliedGeneration = new Map<string, number>();
  return {
    async apply(key, site, ref) {
      const body = desiredDeployment(site, ref, defaults);
      const name = deploymentName(site.siteId);
      const before = caches.deployment(ref.namespace, name);
      const deployment = await clients.apps.patchNamespacedDeployment(
        { name, namespace: ref.namespace, body, fieldManager: FIELD_MANAGER, force: true },
        serverSideApply,
      );
      const generation = deployment.metadata?.generation ?? 0;
      const previous = appliedGeneration.get(key) ?? before?.metadata?.generation;
      appliedGeneration.set(key, generation);
      const change =
        previous === undefined
          ? REASONS.Created
          : generation > previous
            ? REASONS.Updated
            : undefined;
      return { deployment, change };
    },
    forget(key) {
      appliedGeneration.delete(key);
    },
  };
}
