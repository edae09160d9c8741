// buildah as the project runs it: storage of its own under the cache (vfs driver, so it works
// without overlay support), runc as the runtime (crun refuses cgroup hybrid mode), chroot
// isolation for RUN steps, and a configuration that can never reach a container registry.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CACHE_DIR } from '../paths.ts';
import { ensureDebianPackages } from '../tools/debian.ts';
import { runCommand } from './command.ts';

/** Debian's runc. */
export const RUNC = '/usr/sbin/runc';

/** Archives, stamps and build logs of the images. */
export const IMAGES_DIR = path.join(CACHE_DIR, 'images');
/** The last build's output per image (base.log, pause.log, api.log, ...). */
export const IMAGES_LOG_DIR = path.join(IMAGES_DIR, 'logs');

export interface BuildahStorage {
  root: string;
  runroot: string;
  /** TMPDIR of buildah: its temporary files and the `RUN --mount=type=cache` folders. */
  tmp: string;
  /** Lists no registry at all: a short name is looked up locally and nowhere else. */
  registriesConf: string;
  /** Accepts anything: only local images and archives pass through it. */
  signaturePolicy: string;
}

export function buildahStorage(dir: string = path.join(CACHE_DIR, 'buildah')): BuildahStorage {
  return {
    root: path.join(dir, 'root'),
    runroot: path.join(dir, 'runroot'),
    tmp: path.join(dir, 'tmp'),
    registriesConf: path.join(dir, 'registries.conf'),
    signaturePolicy: path.join(dir, 'policy.json'),
  };
}

export const STORAGE = buildahStorage();

/** buildah's global flags: the project's storage instead of the system's. */
export function buildahGlobalArgs(storage: BuildahStorage): string[] {
  return ['--root', storage.root, '--runroot', storage.runroot, '--storage-driver', 'vfs'];
}

export function buildahEnv(storage: BuildahStorage): Record<string, string> {
  return {
    TMPDIR: storage.tmp,
    CONTAINERS_REGISTRIES_CONF: storage.registriesConf,
    BUILDAH_ISOLATION: 'chroot',
  };
}

const REGISTRIES_CONF = `# Written by apps/devstack/src/images/buildah.ts: no registry is searched or reachable.
unqualified-search-registries = []
short-name-mode = "enforcing"
`;
const SIGNATURE_POLICY = `${JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] })}\n`;

function writeIfChanged(file: string, text: string): void {
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text);
}

function prepare(storage: BuildahStorage): void {
  for (const dir of [storage.root, storage.runroot, storage.tmp]) {
    mkdirSync(dir, { recursive: true });
  }
  writeIfChanged(storage.registriesConf, REGISTRIES_CONF);
  writeIfChanged(storage.signaturePolicy, SIGNATURE_POLICY);
}

/** Commands that read or write images take the policy file (buildah has no setting for it). */
const TAKES_POLICY = new Set(['bud', 'build', 'commit', 'from', 'pull', 'push']);

/** The full argument list of `buildah COMMAND ARGS` in the project's storage. */
export function buildahArgs(storage: BuildahStorage, args: readonly string[]): string[] {
  const [command = '', ...rest] = args;
  const policy = TAKES_POLICY.has(command) ? ['--signature-policy', storage.signaturePolicy] : [];
  return [...buildahGlobalArgs(storage), command, ...policy, ...rest];
}

/** `buildah run` in a working container, the way every RUN here runs (chroot, runc). */
export function buildahRunArgs(container: string, command: readonly string[]): string[] {
  return ['run', '--isolation', 'chroot', '--runtime', RUNC, container, '--', ...command];
}

/** Checked (and installed when missing) once per process. */
let installed: Promise<unknown> | undefined;

export async function buildah(
  args: readonly string[],
  options: { logFile?: string; storage?: BuildahStorage } = {},
): Promise<string> {
  installed ??= ensureDebianPackages(['buildah', 'runc']).catch((error: unknown) => {
    installed = undefined;
    throw error;
  });
  await installed;
  const storage = options.storage ?? STORAGE;
  prepare(storage);
  return runCommand('buildah', buildahArgs(storage, args), {
    env: buildahEnv(storage),
    ...(options.logFile ? { logFile: options.logFile } : {}),
  });
}

/** What the cache keeps of a built image: its name, its ID, and its OCI archive. */
export interface ImageRecord {
  name: string;
  /** The image ID (its config's digest): the same in buildah, in the archive and in containerd. */
  id: string;
  archive: string;
}

/** The ID of a local image, or undefined when the storage has no image of that name. */
export async function localImageId(name: string): Promise<string | undefined> {
  try {
    const out = await buildah(['inspect', '--type', 'image', name]);
    const id = (JSON.parse(out) as { FromImageID?: string }).FromImageID;
    return id || undefined;
  } catch {
    return undefined;
  }
}

/** `buildah push IMAGE oci-archive:FILE:IMAGE`: the archive names the image as `name`. */
export async function pushArchive(name: string, file: string): Promise<void> {
  await buildah(['push', '--quiet', name, `oci-archive:${file}:${name}`]);
}

/**
 * Puts the image back into buildah's storage from its archive when the storage lost it (a wiped
 * cache folder) or holds another image under its name.
 */
export async function ensureInStorage(image: ImageRecord): Promise<void> {
  if ((await localImageId(image.name)) === image.id) return;
  await buildah(['pull', '--quiet', `oci-archive:${image.archive}`]);
  await buildah(['tag', image.id, image.name]);
}

/** Removes an image that no name refers to any more (an app's earlier build); others stay. */
export async function removeIfDangling(id: string): Promise<void> {
  const out = await buildah([
    'images',
    '--no-trunc',
    '--filter',
    'dangling=true',
    '--format',
    '{{.ID}}',
  ]);
  const dangling = out.split('\n').map((line) => line.trim().replace(/^sha256:/, ''));
  if (!dangling.includes(id)) return;
  // Still used by a running build's container: it stays, and goes with a later build's cleanup.
  await buildah(['rmi', id]).catch(() => undefined);
}

/** Reads an image record (image.json) from a cache folder. */
export function readImageRecord(dir: string): ImageRecord {
  const stored = JSON.parse(readFileSync(path.join(dir, 'image.json'), 'utf8')) as {
    name: string;
    id: string;
  };
  return { name: stored.name, id: stored.id, archive: path.join(dir, 'image.oci.tar') };
}

/** Writes image.json next to the archive; `extra` records what the image was made of. */
export function writeImageRecord(
  dir: string,
  image: { name: string; id: string },
  extra: Record<string, unknown> = {},
): void {
  const record = { name: image.name, id: image.id, builtAt: new Date().toISOString(), ...extra };
  writeFileSync(path.join(dir, 'image.json'), `${JSON.stringify(record, null, 2)}\n`);
}

export function archivePath(dir: string): string {
  return path.join(dir, 'image.oci.tar');
}
