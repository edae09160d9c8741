// The controller's two informers (list, then watch, into a cache): Sites, and the Deployments the
// operator manages. A failed watch restarts after a pause; until then its cache is not synced.
import {
  makeInformer,
  type Informer,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
  type V1Deployment,
} from '@kubernetes/client-node';
import type { Logger } from '@telemetrypulse/shared';
import { MANAGED_SELECTOR } from '../reconcile/desired.ts';
import type { Caches, SiteResource } from '../reconcile/reconcile.ts';
import { kubeError, SITE_GROUP, SITE_PLURAL, SITE_VERSION, type KubeClients } from './kube.ts';

export type Cached<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export interface InformerOptions {
  clients: KubeClients;
  /** Empty: every namespace. */
  namespace: string;
}

export interface SiteInformers {
  sites: Cached<SiteResource>;
  deployments: Cached<V1Deployment>;
}

const INFORMER_RESTART_MS = 2_000;

export function makeSiteInformers(options: InformerOptions): SiteInformers {
  const { clients, namespace } = options;
  const ns = namespace ? `/namespaces/${namespace}` : '';
  const sites: Cached<SiteResource> = makeInformer(
    clients.config,
    `/apis/${SITE_GROUP}/${SITE_VERSION}${ns}/${SITE_PLURAL}`,
    async () => {
      const group = SITE_GROUP;
      const version = SITE_VERSION;
      const plural = SITE_PLURAL;
      const list: unknown = namespace
        ? await clients.custom.listNamespacedCustomObject({ group, version, namespace, plural })
        : await clients.custom.listClusterCustomObject({ group, version, plural });
      return list as KubernetesListObject<SiteResource>;
    },
  );
  const deployments: Cached<V1Deployment> = makeInformer(
    clients.config,
    `/apis/apps/v1${ns}/deployments`,
    () =>
      namespace
        ? clients.apps.listNamespacedDeployment({ namespace, labelSelector: MANAGED_SELECTOR })
        : clients.apps.listDeploymentForAllNamespaces({ labelSelector: MANAGED_SELECTOR }),
    MANAGED_SELECTOR,
  );
  return { sites, deployments };
}

/** What the reconciler reads: the informers' caches. */
export function cachesOf(informers: SiteInformers): Caches {
  const { sites, deployments } = informers;
  return {
    site: (namespace, name) => sites.get(name, namespace),
    sitesNamed: (name) => sites.list().filter((s) => s.metadata?.name === name),
    deployment: (namespace, name) => deployments.get(name, namespace),
  };
}

export interface RunningInformers {
  /** True while the informer's last list and watch have not failed. */
  healthy(name: keyof SiteInformers): boolean;
  stop(): Promise<void>;
}

/** Starts both informers (each lists, then watches) and restarts one whose watch fails. */
export async function runInformers(
  informers: SiteInformers,
  logger: Logger,
): Promise<RunningInformers> {
  const healthy = new Map<keyof SiteInformers, boolean>();
  const restartTimers = new Set<NodeJS.Timeout>();
  let stopped = false;

  async function start(name: keyof SiteInformers, informer: Cached<KubernetesObject>) {
    healthy.set(name, true);
    // start() lists, then watches; a failure reaches the error handler below.
    await informer.start();
  }
  const all: [keyof SiteInformers, Cached<KubernetesObject>][] = [
    ['sites', informers.sites],
    ['deployments', informers.deployments],
  ];
  for (const [name, informer] of all) {
    informer.on('error', (error: unknown) => {
      healthy.set(name, false);
      if (stopped) return;
      logger.warn({ err: kubeError(error), informer: name }, 'watch failed; restarting');
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (!stopped) void start(name, informer);
      }, INFORMER_RESTART_MS);
      restartTimers.add(timer);
    });
  }
  await Promise.all(all.map(([name, informer]) => start(name, informer)));

  return {
    healthy: (name) => healthy.get(name) === true,
    async stop() {
      stopped = true;
      for (const timer of restartTimers) clearTimeout(timer);
      await Promise.all(all.map(([, informer]) => informer.stop()));
    },
  };
}
