// Site → the simulator Deployment it should have. Pure: the reconciler applies what this returns.
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   client-node's models are classes only for its serializer, which reads plain objects as well. */
import type { V1Deployment } from '@kubernetes/client-node';
import { simulatorEnv, SITE_API_VERSION, SITE_KIND, type Site } from '@telemetrypulse/shared';
import type { SimulatorPodSettings } from '../simulator-pod.ts';
import type { Resources } from './policy.ts';

export const FIELD_MANAGER = 'telemetrypulse-operator';
export const SIMULATOR_PORT = 9470;
const SIMULATOR_NAME = 'telemetrypulse-simulator';
/** OTEL_SERVICE_NAME of every simulator (the app's name, as for the chart's other apps). */
export const SIMULATOR_SERVICE_NAME = 'simulator';

/** What the operator's own config decides for every simulator. */
export interface SimulatorDefaults {
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  imagePullSecrets: readonly string[];
  kafkaBrokers: string;
  /** The topic the simulators publish to: the one the processor consumes. */
  eventsTopic: string;
  logLevel: string;
  /** OTLP endpoint for the simulators' traces; undefined: tracing off, no OTEL_* variables. */
  otlpEndpoint?: string | undefined;
  resources: {
    requests: { cpu: string; memory: string };
    limits: { memory: string };
  };
  /** Labels, annotations and scheduling of every simulator's pod (SIMULATOR_POD). */
  pod?: SimulatorPodSettings | undefined;
}

/** The Site resource as the Deployment's owner needs it. */
export interface SiteOwner {
  name: string;
  namespace: string;
  uid: string;
}

export function deploymentName(siteId: string): string {
  return `sim-${siteId}`;
}

/** The labels that select a site's pods; never change them, a Deployment's selector is fixed. */
export function selectorLabels(siteId: string): Record<string, string> {
  return { 'app.kubernetes.io/name': SIMULATOR_NAME, 'app.kubernetes.io/instance': siteId };
}

/** Kubernetes' recommended labels; the managed-by label is what the operator's informer selects. */
export function siteLabels(siteId: string): Record<string, string> {
  return {
    ...selectorLabels(siteId),
    'app.kubernetes.io/component': 'simulator',
    'app.kubernetes.io/part-of': 'telemetrypulse',
    'app.kubernetes.io/managed-by': FIELD_MANAGER,
  };
}

export const MANAGED_SELECTOR = `app.kubernetes.io/managed-by=${FIELD_MANAGER}`;

/** The pod settings of SIMULATOR_POD, each only when set (an absent field stays unowned). */
function podSettings(pod: SimulatorPodSettings, siteId: string) {
  const all = {
    'app.kubernetes.io/name': SIMULATOR_NAME,
    'app.kubernetes.io/managed-by': FIELD_MANAGER,
  };
  const nonEmpty = (value: object | undefined) =>
    value !== undefined && Object.keys(value).length > 0;
  return {
    metadata: {
      labels: { ...pod.labels, ...siteLabels(siteId) },
      ...(nonEmpty(pod.annotations) && { annotations: pod.annotations }),
    },
    spec: {
      ...(pod.priorityClassName && { priorityClassName: pod.priorityClassName }),
      ...(nonEmpty(pod.nodeSelector) && { nodeSelector: pod.nodeSelector }),
      ...(pod.tolerations?.length && { tolerations: pod.tolerations }),
      ...(nonEmpty(pod.affinity) && { affinity: pod.affinity }),
      ...(pod.topologySpreadConstraints?.length && {
        topologySpreadConstraints: pod.topologySpreadConstraints.map((c) =>
          // Plain objects here (parsed from SIMULATOR_POD), not client-node instances.
          // eslint-disable-next-line @typescript-eslint/no-misused-spread
          c.labelSelector ? c : { ...c, labelSelector: { matchLabels: all } },
        ),
      }),
    },
  };
}

/** The simulator's resources: the operator's defaults with the Site's overrides. */
export function simulatorResources(site: Site, defaults: SimulatorDefaults): Resources {
  const override = site.spec.simulator?.resources;
  const asText = (list: Record<string, string | number | undefined> | undefined) =>
    Object.fromEntries(
      Object.entries(list ?? {})
        .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
        .map(([k, v]) => [k, String(v)]),
    );
  return {
    requests: { ...defaults.resources.requests, ...asText(override?.requests) },
    limits: { ...defaults.resources.limits, ...asText(override?.limits) },
  };
}

/**
 * The full Deployment for server-side apply: every field listed here is owned by the operator,
 * so a hand edit to any of them is reverted on the next reconcile.
 */
export function desiredDeployment(
  site: Site,
  owner: SiteOwner,
  defaults: SimulatorDefaults,
): V1Deployment {
  const labels = siteLabels(site.siteId);
  // The operator's settings are part of the pod template: changing one rolls every simulator.
  const env: Record<string, string> = {
    ...simulatorEnv(site),
    KAFKA_BROKERS: defaults.kafkaBrokers,
    EVENTS_TOPIC: defaults.eventsTopic,
    HTTP_PORT: String(SIMULATOR_PORT),
    LOG_LEVEL: defaults.logLevel,
  };
  if (defaults.otlpEndpoint) {
    // As the chart does for the other apps: the endpoint, and the app's name as the service.
    env.OTEL_EXPORTER_OTLP_ENDPOINT = defaults.otlpEndpoint;
    env.OTEL_SERVICE_NAME = SIMULATOR_SERVICE_NAME;
  }
  const pod = podSettings(defaults.pod ?? {}, site.siteId);
  const probe = (path: string) => ({
    httpGet: { path, port: 'metrics' },
    periodSeconds: 10,
    timeoutSeconds: 2,
    failureThreshold: 3,
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: deploymentName(site.siteId),
      namespace: owner.namespace,
      labels,
      ownerReferences: [
        {
          apiVersion: SITE_API_VERSION,
          kind: SITE_KIND,
          name: owner.name,
          uid: owner.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      replicas: site.spec.paused ? 0 : 1,
      selector: { matchLabels: selectorLabels(site.siteId) },
      // Two simulators of one site would publish its devices twice: stop the old one first.
      strategy: { type: 'Recreate' },
      revisionHistoryLimit: 3,
      template: {
        metadata: pod.metadata,
        spec: {
          ...pod.spec,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          imagePullSecrets: defaults.imagePullSecrets.map((name) => ({ name })),
          securityContext: {
            runAsNonRoot: true,
            // Numeric, so the kubelet can verify runAsNonRoot whatever user name the image has.
            runAsUser: 1000,
            runAsGroup: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'simulator',
              image: site.spec.simulator?.image ?? defaults.image,
              imagePullPolicy: defaults.imagePullPolicy,
              env: Object.entries(env).map(([name, value]) => ({ name, value })),
              ports: [{ name: 'metrics', containerPort: SIMULATOR_PORT, protocol: 'TCP' }],
              livenessProbe: probe('/livez'),
              readinessProbe: probe('/readyz'),
              resources: simulatorResources(site, defaults),
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          // A writable /tmp under the read-only root file system.
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '16Mi' } }],
        },
      },
    },
  };
}
