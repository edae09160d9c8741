// Informers on Sites and the Deployments the operator owns feed a rate-limited work queue;
// workers reconcile one Site at a time per key; every Site is queued again periodically.
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { SITE_KIND, type Logger } from '@telemetrypulse/shared';
import type { Caches, Reconcile } from '../reconcile/reconcile.ts';
import type { SiteRegistry } from '../reconcile/site-registry.ts';
import {
  cachesOf,
  makeSiteInformers,
  runInformers,
  type RunningInformers,
  type SiteInformers,
} from './informers.ts';
import { kubeError, SITE_GROUP, type KubeClients } from './kube.ts';
import type { OperatorMetrics } from './metrics.ts';
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
  siteRegistry: SiteRegistry | undefined;
  makeReconcile: (caches: Caches) => Reconcile;
}

export interface Controller {
  /** True once both caches hold a full list. */
  synced(): boolean;
  stop(): Promise<void>;
}

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

interface WorkerOptions {
  queue: WorkQueue;
  reconcile: Reconcile;
  metrics: OperatorMetrics;
  logger: Logger;
  /** Once stopping, a failed key is not queued again. */
  stopping: () => boolean;
}

/** Takes keys off the queue and reconciles them until the queue shuts down. */
async function runWorker(options: WorkerOptions): Promise<void> {
  const { queue, reconcile, metrics, logger } = options;
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
      if (!options.stopping()) queue.addRateLimited(key);
      logger.warn(
        { err: kubeError(error), site: key, failures: queue.failures(key) },
        'reconcile failed; retrying',
      );
    } finally {
      endTimer();
      queue.done(key);
    }
  }
}

interface ResyncOptions {
  informers: SiteInformers;
  running: RunningInformers;
  enqueue: (key: string) => void;
  /** Empty: every namespace. */
  namespace: string;
  siteRegistry: SiteRegistry | undefined;
  intervalMs: number;
  logger: Logger;
}

/** Queues every Site now and every intervalMs; returns what stops it. */
function startResync(options: ResyncOptions): () => void {
  const { informers, running, enqueue, namespace, siteRegistry, logger } = options;
  async function resync(): Promise<void> {
    for (const site of informers.sites.list()) enqueue(keyOf(site));
    // Only with the whole cluster in view is a Site missing from the cache really gone.
    if (siteRegistry && !namespace && running.healthy('sites')) {
      const present = informers.sites.list().map((s) => s.metadata?.name ?? '');
      const cleared = await siteRegistry.clearAllExcept(present);
      if (cleared.length > 0) logger.info({ sites: cleared }, 'cleared registry of deleted Sites');
    }
  }
  const resyncOrWarn = () => {
    resync().catch((error: unknown) => {
      logger.warn({ err: error }, 'resync failed');
    });
  };
  const timer = setInterval(resyncOrWarn, options.intervalMs);
  // Catch up at once with Sites deleted while no operator ran.
  resyncOrWarn();
  return () => {
    clearInterval(timer);
  };
}

export async function startController(options: ControllerOptions): Promise<Controller> {
  const { clients, namespace, logger, metrics } = options;
  const informers = makeSiteInformers({ clients, namespace });
  const caches = cachesOf(informers);
  const reconcile = options.makeReconcile(caches);
  const queue = new WorkQueue();
  metrics.queueDepth.set(0);
  let stopping = false;

  const enqueue = (key: string) => {
    queue.add(key);
    metrics.queueDepth.set(queue.length);
  };
  informers.sites.on('change', (site) => {
    enqueue(keyOf(site));
    // Sites of one name (in other namespaces) compete for its site id: the change may decide theirs.
    for (const other of caches.sitesNamed(site.metadata?.name ?? '')) enqueue(keyOf(other));
  });
  // A Deployment changed or deleted by anyone brings its Site back: the operator restores it.
  informers.deployments.on('change', (deployment) => {
    const key = ownerKey(deployment);
    if (key) enqueue(key);
  });
  const running = await runInformers(informers, logger);

  const workers = Array.from({ length: options.workers }, () =>
    runWorker({ queue, reconcile, metrics, logger, stopping: () => stopping }),
  );
  const stopResync = startResync({
    informers,
    running,
    enqueue,
    namespace,
    siteRegistry: options.siteRegistry,
    intervalMs: options.resyncMs,
    logger,
  });

  logger.info({ namespace: namespace || '(all)' }, 'controller started');
  return {
    synced: () => running.healthy('sites') && running.healthy('deployments'),
    async stop() {
      stopping = true;
      stopResync();
      await running.stop();
      queue.shutDown();
      // In-flight reconciles finish; no new ones start.
      await Promise.all(workers);
      metrics.queueDepth.set(0);
      logger.info('controller stopped');
    },
  };
}
