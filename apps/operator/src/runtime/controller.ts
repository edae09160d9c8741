// Informers on Sites and the Deployments the operator owns feed a rate-limited work queue;
// workers reconcile one Site at a time per key; every Site is queued again periodically.
import {
  makeInformer,
  type Informer,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
  type V1Deployment,
} from '@kubernetes/client-node';
import { SITE_KIND, type Logger } from '@telemetrypulse/shared';
import { MANAGED_SELECTOR } from '../reconcile/desired.ts';
import { errorMessage, SITE_GROUP, SITE_PLURAL, SITE_VERSION, type KubeClients } from './kube.ts';
import type { OperatorMetrics } from './metrics.ts';
import type { Caches, Reconcile, SiteResource } from '../reconcile/reconcile.ts';
import type { SiteRegistry } from '../reconcile/site-registry.ts';
import { WorkQueue } from './workqueue.ts';

export interface ControllerOptions {
  clients: KubeClients;
  /** Empty: every namespace. */
  namespace: string;
  resyncMs: number;
  workers: number;
  metrics: OperatorMetrics;
  logger: Logger;
  /** When the operator watches every namespace, it may clear registry entries of vanished Sites. */
  registry: SiteRegistry | undefined;
  makeReconcile: (caches: Caches) => Reconcile;
}

export interface Controller {
  /** True once both caches hold a full list. */
  synced(): boolean;
  stop(): Promise<void>;
}

const INFORMER_RESTART_MS = 2_000;

type Cached<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export function keyOf(object: KubernetesObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

/** The Site that controls a Deployment, from its controller owner reference. */
export function ownerKey(deployment: V1Deployment): string | undefined {
  const owner = deployment.metadata?.ownerReferences?.find(
    (o) => o.controller && o.kind === SITE_KIND && o.apiVersion.startsWith(`${SITE_GROUP}/`),
  );
  return owner ? `${deployment.metadata?.namespace ?? ''}/${owner.name}` : undefined;
}

export async function startController(options: ControllerOptions): Promise<Controller> {
  const { clients, namespace, logger, metrics } = options;
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

  const caches: Caches = {
    site: (siteNamespace, name) => sites.get(name, siteNamespace),
    sitesNamed: (name) => sites.list().filter((s) => s.metadata?.name === name),
    deployment: (depNamespace, name) => deployments.get(name, depNamespace),
  };
  const reconcile = options.makeReconcile(caches);
  const queue = new WorkQueue();
  metrics.queueDepth.set(0);
  let stopped = false;

  const enqueue = (key: string) => {
    queue.add(key);
    metrics.queueDepth.set(queue.length);
  };
  sites.on('change', (site) => {
    enqueue(keyOf(site));
  });
  // A Deployment changed or deleted by anyone brings its Site back: the operator restores it.
  deployments.on('change', (deployment) => {
    const key = ownerKey(deployment);
    if (key) enqueue(key);
  });

  const healthy = new Map<string, boolean>();
  const restartTimers = new Set<NodeJS.Timeout>();
  for (const [name, informer] of [
    ['sites', sites],
    ['deployments', deployments],
  ] as const) {
    informer.on('error', (error: unknown) => {
      healthy.set(name, false);
      if (stopped) return;
      logger.warn({ error: errorMessage(error), informer: name }, 'watch failed; restarting');
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (!stopped) void startInformer(name, informer);
      }, INFORMER_RESTART_MS);
      restartTimers.add(timer);
    });
  }
  async function startInformer(name: string, informer: Cached<KubernetesObject>) {
    healthy.set(name, true);
    // start() lists, then watches; a failure reaches the error handler above.
    await informer.start();
  }
  await Promise.all([startInformer('sites', sites), startInformer('deployments', deployments)]);

  async function work(): Promise<void> {
    for (;;) {
      const key = await queue.get();
      metrics.queueDepth.set(queue.length);
      if (key === undefined) return;
      const endTimer = metrics.reconcileDuration.startTimer();
      try {
        const result = await reconcile(key);
        queue.forget(key);
        if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
        metrics.reconciles.inc({ result: 'success' });
      } catch (error) {
        metrics.reconciles.inc({ result: 'error' });
        if (!stopped) queue.addRateLimited(key);
        logger.warn(
          { error: errorMessage(error), site: key, failures: queue.failures(key) },
          'reconcile failed; retrying',
        );
      } finally {
        endTimer();
        queue.done(key);
      }
    }
  }
  const workers = Array.from({ length: options.workers }, () => work());

  async function resync(): Promise<void> {
    for (const site of sites.list()) enqueue(keyOf(site));
    // Only with the whole cluster in view is a Site missing from the cache really gone.
    if (options.registry && !namespace && healthy.get('sites')) {
      const present = sites.list().map((s) => s.metadata?.name ?? '');
      const cleared = await options.registry.clearAllExcept(present);
      if (cleared.length > 0) logger.info({ sites: cleared }, 'cleared registry of deleted Sites');
    }
  }
  const resyncTimer = setInterval(() => {
    resync().catch((error: unknown) => {
      logger.warn({ err: error }, 'resync failed');
    });
  }, options.resyncMs);
  // Catch up at once with Sites deleted while no operator ran.
  void resync().catch((error: unknown) => {
    logger.warn({ err: error }, 'resync failed');
  });

  logger.info({ namespace: namespace || '(all)' }, 'controller started');
  return {
    synced: () => healthy.get('sites') === true && healthy.get('deployments') === true,
    async stop() {
      stopped = true;
      clearInterval(resyncTimer);
      for (const timer of restartTimers) clearTimeout(timer);
      await Promise.all([sites.stop(), deployments.stop()]);
      queue.shutDown();
      // In-flight reconciles finish; no new ones start.
      await Promise.all(workers);
      metrics.queueDepth.set(0);
      logger.info('controller stopped');
    },
  };
}
