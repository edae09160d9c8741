// What a Site may ask of the cluster: the images its simulator may run (with the chart's pull
// secrets) and the resources and rate it may take. Pure: the reconciler refuses a Site that asks
// for more, and the config checks the operator's own defaults against the same caps.
import type { Site } from '@telemetrypulse/shared';
import { REASONS } from './reasons.ts';
import type { Problem } from './status.ts';

export interface SitePolicy {
  /** `registry/path/` prefixes (ending in /), repositories (any tag or digest) or exact references. */
  allowedImages: readonly string[];
  /** The caps as written (for messages) and parsed. */
  maxCpu: string;
  maxMemory: string;
  maxEventsPerSecond: number;
}

/** The resources a simulator runs with: the operator's defaults with the Site's overrides. */
export interface Resources {
  requests: Record<string, string>;
  limits: Record<string, string>;
}

// The reference grammar of the distribution project (docker/distribution reference/regexp.go).
const DOMAIN_PART = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `${DOMAIN_PART}(?:\\.${DOMAIN_PART})*(?::[0-9]+)?`;
const PATH_PART = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const NAME = `(?:${DOMAIN}/)?${PATH_PART}(?:/${PATH_PART})*`;
const TAG = ':[\\w][\\w.-]{0,127}';
const DIGEST = '@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^${NAME}(?:${TAG})?(?:${DIGEST})?$`);
// A registry alone (registry.example:5000/) or a path in one (registry.example/team/).
const PREFIX = new RegExp(`^(?:${DOMAIN}|${NAME})/$`);

export const ALLOWED_IMAGES_SETTING = 'SITE_ALLOWED_IMAGES (chart: operator.allowedImages)';
const SETTINGS = {
  cpu: 'SITE_MAX_CPU (chart: operator.siteLimits.cpu)',
  memory: 'SITE_MAX_MEMORY (chart: operator.siteLimits.memory)',
  eventsPerSecond: 'SITE_MAX_EVENTS_PER_SECOND (chart: operator.siteLimits.eventsPerSecond)',
};

export function isImageReference(image: string): boolean {
  return image.length <= 512 && REFERENCE.test(image);
}

/** Whether an entry of the allowed list is well formed: a reference, or a prefix ending in /. */
export function isAllowedImageEntry(entry: string): boolean {
  return PREFIX.test(entry) || isImageReference(entry);
}

/** The repository of an image reference: without its digest and tag. */
export function imageRepository(image: string): string {
  const [name = ''] = image.split('@');
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/**
 * Whether the image is allowed. Compared as written (no registry or `library/` added): an entry
 * `repo/name` allows that repository only, never `repo/name-other`.
 */
export function imageAllowed(image: string, allowed: readonly string[]): boolean {
  if (!isImageReference(image)) return false;
  const repository = imageRepository(image);
  return allowed.some((entry) => {
    if (entry.endsWith('/')) return repository.startsWith(entry);
    if (imageRepository(entry) !== entry) return image === entry;
    return repository === entry;
  });
}

const DECIMAL_SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const BINARY_SUFFIX: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * A Kubernetes quantity as a number (cores, bytes), precise enough to compare against a cap.
 * client-node's quantityToScalar refuses fractions with a suffix (1.5Gi) and exponents (1e3).
 */
export function quantityValue(quantity: string | number): number {
  const text = String(quantity).trim();
  const match =
    /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|([KMGTPE]i)|([numkMGTPE]?))$/.exec(text);
  if (!match) throw new Error(`not a Kubernetes quantity: ${JSON.stringify(text)}`);
  const [, number = '', exponent, binary, decimal = ''] = match;
  if (exponent) return Number(`${number}${exponent}`);
  const factor = binary ? BINARY_SUFFIX[binary] : DECIMAL_SUFFIX[decimal];
  return Number(number) * (factor ?? Number.NaN);
}

/** Each request and limit above its cap, as `field value is above SETTING (cap)`. */
export function resourcesAboveCaps(resources: Resources, policy: SitePolicy): string[] {
  const caps = { cpu: policy.maxCpu, memory: policy.maxMemory };
  const found: string[] = [];
  for (const kind of ['requests', 'limits'] as const) {
    for (const resource of ['cpu', 'memory'] as const) {
      const value = resources[kind][resource];
      if (value !== undefined && quantityValue(value) > quantityValue(caps[resource])) {
        found.push(
          `${kind}.${resource} ${value} is above ${SETTINGS[resource]} (${caps[resource]})`,
        );
      }
    }
  }
  return found;
}

/** Why the operator refuses to run this Site, or undefined when the policy allows it. */
export function policyProblem(
  site: Site,
  resources: Resources,
  policy: SitePolicy,
): Problem | undefined {
  const image = site.spec.simulator?.image;
  if (image !== undefined && !imageAllowed(image, policy.allowedImages)) {
    return {
      reason: REASONS.ImageNotAllowed,
      message: `spec.simulator.image ${image} is not allowed by ${ALLOWED_IMAGES_SETTING}: ${policy.allowedImages.join(', ')}`,
    };
  }
  const above = resourcesAboveCaps(resources, policy).map((p) => `simulator ${p}`);
  if (site.spec.eventsPerSecond > policy.maxEventsPerSecond) {
    above.push(
      `spec.eventsPerSecond ${site.spec.eventsPerSecond} is above ${SETTINGS.eventsPerSecond} (${policy.maxEventsPerSecond})`,
    );
  }
  if (above.length === 0) return undefined;
  return { reason: REASONS.ResourcesAboveLimit, message: above.join('; ') };
}
