import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import {
  ConfigError,
  commonEnv,
  opsEnv,
  QUANTITY_PATTERN,
  readConfig,
  startupEnv,
  splitList,
  TOPICS,
} from '@telemetrypulse/shared';
import { imageRepository, isAllowedImageEntry, resourcesAboveCaps } from './reconcile/policy.ts';
import { parseSimulatorPod, type SimulatorPodSettings } from './simulator-pod.ts';

const IN_CLUSTER_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const quantity = (fallback: string, description: string) =>
  Type.String({
    pattern: QUANTITY_PATTERN,
    'x-allowed': 'a Kubernetes quantity (50m, 0.5, 128Mi)',
    default: fallback,
    description,
  });

export const OperatorEnv = Type.Object({
  ...commonEnv,
  ...opsEnv(9480),
  ...startupEnv,
  KUBECONFIG: Type.Optional(
    Type.String({
      description: "kubeconfig file; unset: ~/.kube/config, else the pod's service account",
    }),
  ),
  WATCH_NAMESPACE: Type.String({
    default: '',
    description: 'namespace whose Sites are reconciled; empty: all namespaces',
  }),
  SIMULATOR_IMAGE: Type.String({
    minLength: 1,
    default: 'telemetrypulse/simulator:0.1.0',
    description: 'simulator image for Sites that do not set spec.simulator.image',
  }),
  SIMULATOR_IMAGE_PULL_POLICY: Type.Unsafe<'Always' | 'IfNotPresent' | 'Never'>({
    type: 'string',
    enum: ['Always', 'IfNotPresent', 'Never'],
    default: 'IfNotPresent',
    description: 'imagePullPolicy of the simulator containers',
  }),
  IMAGE_PULL_SECRETS: Type.String({
    default: '',
    description: "comma-separated Secrets in each Site's namespace for pulling the image",
  }),
  SIMULATOR_CPU_REQUEST: quantity('50m', 'default cpu request of a simulator'),
  SIMULATOR_MEMORY_REQUEST: quantity('96Mi', 'default memory request of a simulator'),
  SIMULATOR_MEMORY_LIMIT: quantity('256Mi', 'default memory limit of a simulator'),
  // What a Site may ask for; a Site beyond any of these is refused (no simulator runs).
  SITE_ALLOWED_IMAGES: Type.String({
    default: '',
    description:
      'comma-separated images a Site may set in spec.simulator.image: a prefix ending in / (registry.example/team/), a repository (any tag or digest) or an exact reference; empty: the repository of SIMULATOR_IMAGE only',
  }),
  SITE_MAX_CPU: quantity('1', "most cpu a Site's simulator may request or be limited to"),
  SITE_MAX_MEMORY: quantity('1Gi', "most memory a Site's simulator may request or be limited to"),
  SITE_MAX_EVENTS_PER_SECOND: Type.Number({
    exclusiveMinimum: 0,
    maximum: 50_000,
    default: 1000,
    description: 'highest spec.eventsPerSecond a Site may ask for',
  }),
  KAFKA_BROKERS: Type.String({
    minLength: 1,
    default: '127.0.0.1:19092',
    description: 'Kafka brokers the simulators publish to',
  }),
  // SIMULATOR_<X> becomes the simulators' <X>; changing one rolls every simulator.
  SIMULATOR_EVENTS_TOPIC: Type.String({
    pattern: '^[a-zA-Z0-9._-]{1,249}$',
    default: TOPICS.events,
    description:
      "EVENTS_TOPIC of simulators: the topic they publish to (the processor's EVENTS_TOPIC)",
  }),
  SIMULATOR_LOG_LEVEL: Type.Unsafe<Static<typeof commonEnv.LOG_LEVEL>>({
    ...commonEnv.LOG_LEVEL,
    description: 'LOG_LEVEL of simulators',
  }),
  SIMULATOR_OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(
    Type.String({
      pattern: '^https?://\\S+$',
      description:
        'OTEL_EXPORTER_OTLP_ENDPOINT of simulators, with OTEL_SERVICE_NAME=simulator; unset: no traces',
    }),
  ),
  SIMULATOR_POD: Type.String({
    default: '{}',
    'x-allowed': 'a JSON object',
    description:
      "pod settings of simulators: labels (the operator's win a clash), annotations, priorityClassName, nodeSelector, tolerations, affinity, topologySpreadConstraints (without labelSelector: counts all simulators)",
  }),
  DATABASE_URL: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'sites registry (alert thresholds for the processor); unset: not kept',
    }),
  ),
  DATABASE_POOL_SIZE: Type.Integer({
    minimum: 1,
    maximum: 20,
    default: 2,
    description: 'connections to the sites registry database the operator may hold',
  }),
  LEADER_ELECTION: Type.Boolean({
    default: true,
    description: 'hold a Lease so only one replica reconciles',
  }),
  LEASE_NAME: Type.String({
    pattern: DNS_LABEL,
    default: 'telemetrypulse-operator',
    description: 'name of the coordination.k8s.io Lease the replicas elect a leader with',
  }),
  LEASE_NAMESPACE: Type.Optional(
    Type.String({
      pattern: DNS_LABEL,
      description:
        "namespace of the Lease; unset: the pod's namespace, else WATCH_NAMESPACE, else default",
    }),
  ),
  LEASE_DURATION_SECONDS: Type.Integer({
    minimum: 2,
    maximum: 600,
    default: 15,
    description: 'how long a Lease not renewed keeps others from taking over (after a crash)',
  }),
  LEASE_RENEW_DEADLINE_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 600,
    default: 10,
    description:
      'a leader that could not renew for this long stops leading; below LEASE_DURATION_SECONDS',
  }),
  LEASE_RETRY_SECONDS: Type.Number({
    minimum: 0.1,
    maximum: 60,
    default: 2,
    description: 'how often the Lease is renewed or tried for; below LEASE_RENEW_DEADLINE_SECONDS',
  }),
  POD_NAME: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'identity in the Lease and on events; unset: host name + a random id',
    }),
  ),
  RESYNC_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 86_400,
    default: 300,
    description: 'every Site is reconciled again this often',
  }),
  MAX_CONCURRENT_RECONCILES: Type.Integer({
    minimum: 1,
    maximum: 32,
    default: 2,
    description: 'Sites reconciled at once (never the same Site twice at once)',
  }),
});

type Env = Static<typeof OperatorEnv>;

export type OperatorConfig = Omit<
  Env,
  | 'IMAGE_PULL_SECRETS'
  | 'LEASE_NAMESPACE'
  | 'POD_NAME'
  | 'SIMULATOR_POD'
  | 'SITE_ALLOWED_IMAGES'
  | 'WATCH_NAMESPACE'
> & {
  /** Empty: every namespace. */
  WATCH_NAMESPACE: string;
  IMAGE_PULL_SECRETS: string[];
  /** Never empty: unset means the repository of SIMULATOR_IMAGE. */
  SITE_ALLOWED_IMAGES: string[];
  LEASE_NAMESPACE: string;
  POD_NAME: string;
  SIMULATOR_POD: SimulatorPodSettings;
};

function podNamespace(): string | undefined {
  try {
    return readFileSync(IN_CLUSTER_NAMESPACE_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function invalid(problem: string): ConfigError {
  return new ConfigError(`invalid configuration:\n  ${problem}`);
}

function allowedImages(raw: Env): string[] {
  const listed = splitList(raw.SITE_ALLOWED_IMAGES);
  const bad = listed.find((entry) => !isAllowedImageEntry(entry));
  if (bad !== undefined) {
    throw invalid(
      `SITE_ALLOWED_IMAGES has ${JSON.stringify(bad)}, neither an image reference nor a prefix ending in /`,
    );
  }
  return listed.length > 0 ? listed : [imageRepository(raw.SIMULATOR_IMAGE)];
}

/** The operator's own simulator resources must be within the caps it holds Sites to. */
function checkDefaultsWithinCaps(raw: Env): void {
  const above = resourcesAboveCaps(
    {
      requests: { cpu: raw.SIMULATOR_CPU_REQUEST, memory: raw.SIMULATOR_MEMORY_REQUEST },
      limits: { memory: raw.SIMULATOR_MEMORY_LIMIT },
    },
    {
      allowedImages: [],
      maxCpu: raw.SITE_MAX_CPU,
      maxMemory: raw.SITE_MAX_MEMORY,
      maxEventsPerSecond: raw.SITE_MAX_EVENTS_PER_SECOND,
    },
  );
  if (above.length > 0) throw invalid(`the simulator default ${above.join('; ')}`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const raw = readConfig(OperatorEnv, env);
  // client-go's rule: the holder must give up before others may take over, and retry within that.
  if (raw.LEASE_RENEW_DEADLINE_SECONDS >= raw.LEASE_DURATION_SECONDS) {
    throw new ConfigError(
      'invalid configuration:\n  LEASE_RENEW_DEADLINE_SECONDS must be below LEASE_DURATION_SECONDS',
    );
  }
  if (raw.LEASE_RETRY_SECONDS >= raw.LEASE_RENEW_DEADLINE_SECONDS) {
    throw new ConfigError(
      'invalid configuration:\n  LEASE_RETRY_SECONDS must be below LEASE_RENEW_DEADLINE_SECONDS',
    );
  }
  checkDefaultsWithinCaps(raw);
  const secrets = splitList(raw.IMAGE_PULL_SECRETS);
  const badSecret = secrets.find((s) => !/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(s));
  if (badSecret !== undefined) {
    throw new ConfigError(
      `invalid configuration:\n  IMAGE_PULL_SECRETS has an invalid Secret name ${JSON.stringify(badSecret)}`,
    );
  }
  const watchNamespace = raw.WATCH_NAMESPACE.trim();
  return {
    ...raw,
    WATCH_NAMESPACE: watchNamespace,
    IMAGE_PULL_SECRETS: secrets,
    SITE_ALLOWED_IMAGES: allowedImages(raw),
    SIMULATOR_POD: parseSimulatorPod(raw.SIMULATOR_POD),
    LEASE_NAMESPACE: raw.LEASE_NAMESPACE ?? podNamespace() ?? (watchNamespace || 'default'),
    POD_NAME: raw.POD_NAME ?? `${hostname()}_${randomBytes(4).toString('hex')}`,
  };
}
