// Names of the images built locally, and where their tags come from. Pure.
import { parse } from 'yaml';

export const APPS = ['simulator', 'processor', 'api', 'operator'] as const;
export type App = (typeof APPS)[number];

/**
 * The Dockerfile's build args of a published image, as the release workflow and the images check
 * (apps/devstack/test/integration/images/) give them: APP only, so the base image is the
 * Dockerfile's own node:24 and no CA bundle of a build machine is named.
 */
export function publishedBuildArgs(app: App): Record<string, string> {
  return { APP: app };
}

/**
 * Every local image is named under `localhost/`, buildah's own prefix for images it built. A
 * container runtime takes such a name as it is, while a bare `telemetrypulse/api:0.1.0` is read
 * as a name on a default registry; containerd's CRI looks images up by that normalized name, so
 * an imported image is found by a pod or `sandbox_image` only under a name that normalizes to
 * itself. (The chart gets there with `global.imageRegistry: localhost`.)
 */
export const LOCAL_REGISTRY = 'localhost';

/** The Debian release the base image is made of. */
export const BASE_SUITE = 'bookworm';

const TAG = /^[\w][\w.-]{0,127}$/;

function checkTag(tag: string): string {
  if (!TAG.test(tag)) throw new Error(`not a valid image tag: ${JSON.stringify(tag)}`);
  return tag;
}

/** localhost/telemetrypulse/api:0.1.0 */
export function appImageName(app: App, tag: string): string {
  return `${LOCAL_REGISTRY}/telemetrypulse/${app}:${checkTag(tag)}`;
}

/** localhost/telemetrypulse/pause:1.0.0 */
export function pauseImageName(version: string): string {
  return `${LOCAL_REGISTRY}/telemetrypulse/pause:${checkTag(version)}`;
}

/** localhost/telemetrypulse-base:node-24.21.0-bookworm */
export function baseImageName(nodeVersion: string, suite: string = BASE_SUITE): string {
  return `${LOCAL_REGISTRY}/telemetrypulse-base:${checkTag(`node-${nodeVersion}-${suite}`)}`;
}

/** The chart's appVersion (Chart.yaml text): the apps' default image tag, as the chart uses it. */
export function chartAppVersion(chartYaml: string): string {
  // Every scalar as written: an unquoted 2.0 stays "2.0" rather than becoming the number 2.
  const chart = parse(chartYaml, { schema: 'failsafe' }) as { appVersion?: unknown } | null;
  const version = chart?.appVersion;
  if (typeof version !== 'string' || version === '')
    throw new Error('Chart.yaml has no appVersion');
  return checkTag(version);
}

/** Cache folder of one build of an app image: the content hash makes each input state its own. */
export function appCacheName(app: App, tag: string, hash: string): string {
  return `${app}-${checkTag(tag)}-${hash.slice(0, 16)}`;
}

/** Whether a cache folder holds a build of this app and tag (any inputs). */
export function isAppCacheName(name: string, app: App, tag: string): boolean {
  const prefix = `${app}-${tag}-`;
  return name.startsWith(prefix) && /^[0-9a-f]{16}$/.test(name.slice(prefix.length));
}
