// The operator as a whole: a controller that runs only while this replica leads.
import type { Logger } from '@telemetrypulse/shared';
import type { OperatorConfig } from './config.ts';
import type { SimulatorDefaults } from './reconcile/desired.ts';
import type { SitePolicy } from './reconcile/policy.ts';
import { EventRecorder } from './reconcile/events.ts';
import { createReconciler } from './reconcile/reconcile.ts';
import type { SiteRegistry } from './reconcile/site-registry.ts';
import { startController, type Controller } from './runtime/controller.ts';
import type { KubeClients } from './runtime/kube.ts';
import { startLeaderElection, type LeaderElector } from './runtime/leader-election.ts';
import type { OperatorMetrics } from './runtime/metrics.ts';

export interface Operator {
  /** Ready: following, or leading with synced caches. */
  ready(): boolean;
  isLeader(): boolean;
  /** Stops reconciling and, when leading, releases the Lease. */
  stop(): Promise<void>;
}

export interface OperatorDeps {
  clients: KubeClients;
  /** The sites registry in PostgreSQL; undefined: no DATABASE_URL, Sites are not written there. */
  siteRegistry: SiteRegistry | undefined;
  metrics: OperatorMetrics;
  logger: Logger;
  /** This replica led and lost the Lease (not renewed in time, or taken); it campaigns no more. */
  onLostLeadership?: () => void;
}

export function simulatorDefaults(config: OperatorConfig): SimulatorDefaults {
  return {
    image: config.SIMULATOR_IMAGE,
    imagePullPolicy: config.SIMULATOR_IMAGE_PULL_POLICY,
    imagePullSecrets: config.IMAGE_PULL_SECRETS,
    kafkaBrokers: config.KAFKA_BROKERS,
    eventsTopic: config.SIMULATOR_EVENTS_TOPIC,
    logLevel: config.SIMULATOR_LOG_LEVEL,
    otlpEndpoint: config.SIMULATOR_OTEL_EXPORTER_OTLP_ENDPOINT,
    pod: config.SIMULATOR_POD,
    resources: {
      requests: { cpu: config.SIMULATOR_CPU_REQUEST, memory: config.SIMULATOR_MEMORY_REQUEST },
      limits: { memory: config.SIMULATOR_MEMORY_LIMIT },
    },
  };
}

export function sitePolicy(config: OperatorConfig): SitePolicy {
  return {
    allowedImages: config.SITE_ALLOWED_IMAGES,
    maxCpu: config.SITE_MAX_CPU,
    maxMemory: config.SITE_MAX_MEMORY,
    maxEventsPerSecond: config.SITE_MAX_EVENTS_PER_SECOND,
  };
}

export async function startOperator(config: OperatorConfig, deps: OperatorDeps): Promise<Operator> {
  const { clients, siteRegistry, metrics, logger } = deps;
  const recorder = new EventRecorder(clients.events, config.POD_NAME, logger);
  const defaults = simulatorDefaults(config);
  const policy = sitePolicy(config);
  let controller: Controller | undefined;

  const lead = async () => {
    controller = await startController({
      clients,
      namespace: config.WATCH_NAMESPACE,
      resyncMs: config.RESYNC_SECONDS * 1000,
      workers: config.MAX_CONCURRENT_RECONCILES,
      metrics,
      logger,
      siteRegistry,
      makeReconcile: (caches) =>
        createReconciler({ clients, caches, defaults, policy, siteRegistry, recorder, logger }),
    });
    metrics.leader.set(1);
  };
  const follow = async () => {
    metrics.leader.set(0);
    const running = controller;
    controller = undefined;
    await running?.stop();
  };
  metrics.leader.set(0);

  let elector: LeaderElector | undefined;
  if (config.LEADER_ELECTION) {
    elector = startLeaderElection({
      api: clients.coordination,
      namespace: config.LEASE_NAMESPACE,
      name: config.LEASE_NAME,
      identity: config.POD_NAME,
      leaseDurationSeconds: config.LEASE_DURATION_SECONDS,
      renewDeadlineSeconds: config.LEASE_RENEW_DEADLINE_SECONDS,
      retrySeconds: config.LEASE_RETRY_SECONDS,
      logger,
      // The elector runs these in turn, so a quick loss after a win stops what the win started.
      onStartedLeading: lead,
      onStoppedLeading: follow,
      onLostLeadership: deps.onLostLeadership,
    });
  } else {
    await lead();
  }

  return {
    ready: () => (controller ? controller.synced() : elector !== undefined),
    isLeader: () => controller !== undefined,
    async stop() {
      if (elector) {
        // Stops leading (which stops the controller) before the Lease is released.
        await elector.stop();
      } else {
        await follow();
      }
    },
  };
}
