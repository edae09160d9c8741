// The project's container images, built locally by buildah from the real Dockerfile (no
// registry is reachable) and exported as OCI archives for containerd: a Node base image, the
// pod sandbox image and the four app images. An app whose build inputs did not change is not
// built again; its archive is reused.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT } from '../paths.ts';
import { ensureCachedDir } from '../tools/cached-dir.ts';
import { ensureBaseImage } from './base.ts';
import {
  archivePath,
  buildah,
  IMAGES_DIR,
  IMAGES_LOG_DIR as LOG_DIR,
  type ImageRecord,
  pushArchive,
  readImageRecord,
  removeIfDangling,
  RUNC,
  writeImageRecord,
} from './buildah.ts';
import { buildInputs } from './content-hash.ts';
import {
  APPS,
  type App,
  appCacheName,
  appImageName,
  chartAppVersion,
  isAppCacheName,
} from './names.ts';
import { ensurePauseImage } from './pause.ts';

export { ensureBaseImage } from './base.ts';
export type { ImageRecord } from './buildah.ts';
export { importImages, type ImportOptions } from './import.ts';
export { APPS, type App } from './names.ts';
export { ensurePauseImage } from './pause.ts';

const DOCKERFILE = path.join(REPO_ROOT, 'Dockerfile');
const CHART_YAML = path.join(REPO_ROOT, 'charts', 'telemetrypulse', 'Chart.yaml');

/** Where a build step finds the host's CA bundle (the Dockerfile's NODE_EXTRA_CA_CERTS). */
export const BUILD_CA_PATH = '/etc/ssl/certs/host-ca.crt';

/** The app images' tag unless one is given: the chart's appVersion, which the chart deploys. */
export function defaultImageTag(): string {
  return chartAppVersion(readFileSync(CHART_YAML, 'utf8'));
}

/**
 * The CA bundle this machine trusts for the package registries (they may be reached through a
 * TLS-intercepting proxy): what Node here is told to trust, else the system's bundle.
 */
export function hostCaBundle(): string | undefined {
  const candidates = [process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'];
  return candidates.find((file) => file !== undefined && file !== '' && existsSync(file));
}

export interface AppBuild {
  app: App;
  /** The image's name, e.g. localhost/telemetrypulse/api:0.1.0. */
  name: string;
  /** The Node base image (NODE_IMAGE). */
  baseImage: string;
  dockerfile: string;
  context: string;
  /** The host's CA bundle, mounted into RUN steps and named by NODE_EXTRA_CA_CERTS. */
  caBundle?: string | undefined;
  /** Receives the built image's ID. */
  iidFile: string;
}

/** The Dockerfile's build args for one app. */
export function appBuildArgValues(build: Omit<AppBuild, 'name' | 'iidFile'>) {
  const args: Record<string, string> = { APP: build.app, NODE_IMAGE: build.baseImage };
  if (build.caBundle) args.NODE_EXTRA_CA_CERTS = BUILD_CA_PATH;
  return args;
}

/** `buildah bud` of the real Dockerfile for one app. */
export function appBuildArgs(build: AppBuild): string[] {
  const buildArgs = Object.entries(appBuildArgValues(build)).flatMap(([name, value]) => [
    '--build-arg',
    `${name}=${value}`,
  ]);
  return [
    'bud',
    '--isolation',
    'chroot',
    '--runtime',
    RUNC,
    // The base image is local, and nothing else may be fetched.
    '--pull=never',
    // One layer per stage: with the vfs driver every layer is a full copy of the file system.
    '--layers=false',
    '--file',
    build.dockerfile,
    ...buildArgs,
    ...(build.caBundle ? ['--volume', `${build.caBundle}:${BUILD_CA_PATH}:ro`] : []),
    '--iidfile',
    build.iidFile,
    '--tag',
    build.name,
    build.context,
  ];
}

export interface AppImage extends ImageRecord {
  /** false: the inputs were unchanged and the earlier build's archive is returned. */
  rebuilt: boolean;
}

export interface BuiltImages<A extends App = App> {
  base: ImageRecord;
  /** The sandbox image (containerd's sandbox_image). */
  pause: ImageRecord;
  apps: Record<A, AppImage>;
}

export interface BuildImagesOptions<A extends App> {
  /** Default: all four. */
  apps?: readonly A[];
  /** Default: the chart's appVersion. */
  tag?: string;
  /** Progress: what is built, what is reused, how long it took. Default: console.log. */
  log?: (line: string) => void;
}

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

/** Deletes the archives of an app's earlier builds (same tag), and their images if unnamed. */
async function removeEarlierBuilds(app: App, tag: string, keep: string): Promise<void> {
  for (const entry of readdirSync(IMAGES_DIR)) {
    if (entry === keep || !isAppCacheName(entry, app, tag)) continue;
    const dir = path.join(IMAGES_DIR, entry);
    let id: string | undefined;
    try {
      id = readImageRecord(dir).id;
    } catch {
      // No record: a folder from an interrupted rename; it goes all the same.
    }
    rmSync(dir, { recursive: true, force: true });
    if (id) await removeIfDangling(id);
  }
}

async function ensureAppImage(
  app: App,
  tag: string,
  base: ImageRecord,
  log: (line: string) => void,
): Promise<AppImage> {
  const name = appImageName(app, tag);
  const build = {
    app,
    name,
    baseImage: base.name,
    dockerfile: DOCKERFILE,
    context: REPO_ROOT,
    caBundle: hostCaBundle(),
  };
  const inputs = buildInputs({
    context: REPO_ROOT,
    dockerfile: DOCKERFILE,
    buildArgs: appBuildArgValues(build),
    baseImageId: base.id,
  });
  const cacheName = appCacheName(app, tag, inputs.hash);
  const started = performance.now();
  // Set by the build callback, which runs only when no process built these inputs yet.
  let rebuilt = false as boolean;
  const dir = await ensureCachedDir(
    cacheName,
    async (tempDir) => {
      rebuilt = true;
      const earlier = readdirSync(IMAGES_DIR).some((e) => isAppCacheName(e, app, tag));
      const why = earlier ? 'its inputs changed' : 'no earlier build';
      log(
        `building ${name}: ${why} (${inputs.files.length} files, hash ${inputs.hash.slice(0, 12)})`,
      );
      const iidFile = path.join(tempDir, 'iid');
      const logFile = path.join(LOG_DIR, `${app}.log`);
      rmSync(logFile, { force: true });
      await buildah(appBuildArgs({ ...build, iidFile }), { logFile });
      const id = readFileSync(iidFile, 'utf8')
        .trim()
        .replace(/^sha256:/, '');
      rmSync(iidFile);
      const built = seconds(started);
      await pushArchive(name, archivePath(tempDir));
      writeImageRecord(tempDir, { name, id }, { hash: inputs.hash, inputs: inputs.files });
      log(`  ${name} built in ${built}, exported in ${seconds(started)} (log: ${logFile})`);
    },
    { cacheDir: IMAGES_DIR },
  );
  const image = readImageRecord(dir);
  if (rebuilt) await removeEarlierBuilds(app, tag, cacheName);
  else log(`reusing ${name} (inputs unchanged, image ${image.id.slice(0, 12)})`);
  return { ...image, rebuilt };
}

/**
 * Builds (or reuses) the base and pause images and the app images; every image ends up in
 * buildah's project storage and as an OCI archive under ~/.cache/telemetrypulse/images/, ready
 * for `importImages`. Apps are built one after another: each runs npm ci on all cores. Needs root.
 */
export async function buildImages<A extends App = App>(
  options: BuildImagesOptions<A> = {},
): Promise<BuiltImages<A>> {
  const log = options.log ?? console.log;
  if (process.getuid?.() !== 0) {
    throw new Error(
      'building the images needs root: mmdebstrap --mode=root and buildah with its own storage',
    );
  }
  const started = performance.now();
  const tag = options.tag ?? defaultImageTag();
  const apps = options.apps ?? (APPS as readonly App[] as readonly A[]);
  mkdirSync(LOG_DIR, { recursive: true });
  const base = await ensureBaseImage(log);
  const pause = await ensurePauseImage(log);
  const built = {} as Record<A, AppImage>;
  for (const app of apps) built[app] = await ensureAppImage(app, tag, base, log);
  const count = Object.values<AppImage>(built).filter((image) => image.rebuilt).length;
  log(
    `images ready in ${seconds(started)}: ${count} app image(s) built, ` +
      `${apps.length - count} reused; archives in ${IMAGES_DIR}`,
  );
  return { base, pause, apps: built };
}
