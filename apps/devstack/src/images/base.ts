// The Node 24 base image the app images build FROM, made here because no container registry is
// reachable: a minimal Debian (mmdebstrap from Debian's apt mirror), the very Node binary of the
// `node` package the project pins, and npm from its npm package. Built once per Node version.
import {
  appendFileSync,
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { REPO_ROOT } from '../paths.ts';
import { ensureCachedDir } from '../tools/cached-dir.ts';
import { ensureDebianPackages } from '../tools/debian.ts';
import {
  archivePath,
  buildah,
  buildahRunArgs,
  ensureInStorage,
  IMAGES_DIR,
  IMAGES_LOG_DIR,
  type ImageRecord,
  pushArchive,
  readImageRecord,
  writeImageRecord,
} from './buildah.ts';
import { runCommand } from './command.ts';
import { BASE_SUITE, baseImageName } from './names.ts';

/** The node user of the official Node images, which the Dockerfile's `USER 1000:1000` means. */
export const NODE_USER = { name: 'node', uid: 1000, gid: 1000, home: '/home/node' };

const PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The version of the `node` package in node_modules: the Node every image runs. */
export function projectNodeVersion(root: string = REPO_ROOT): string {
  const file = path.join(root, 'node_modules', 'node', 'package.json');
  if (!existsSync(file)) throw new Error(`${file} is missing: run make install first`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/**
 * mmdebstrap's arguments. No mirror is named: mmdebstrap takes Debian's default one and, for a
 * stable release, its updates and security suites, the same mirror apt on this machine uses.
 * Documentation, manual pages and translations are left out; copyright files stay.
 */
export function mmdebstrapArgs(suite: string, target: string): string[] {
  return [
    '--variant=minbase',
    '--mode=root',
    '--format=tar',
    // Device nodes come from the container runtime.
    '--skip=output/dev',
    '--dpkgopt=path-exclude=/usr/share/man/*',
    '--dpkgopt=path-exclude=/usr/share/info/*',
    '--dpkgopt=path-exclude=/usr/share/locale/*',
    '--dpkgopt=path-exclude=/usr/share/doc/*',
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    suite,
    target,
  ];
}

/** The major of the npm the project runs (`make install` runs its `npm ci`). */
async function npmMajor(): Promise<string> {
  const version = (await runCommand('npm', ['--version'])).trim();
  const major = /^(\d+)\./.exec(version)?.[1];
  if (!major) throw new Error(`cannot read npm's version: ${version}`);
  return major;
}

/** Adds the node user (uid/gid 1000) the way the official images have it. */
function addNodeUser(root: string): void {
  const { name, uid, gid, home } = NODE_USER;
  appendFileSync(path.join(root, 'etc/passwd'), `${name}:x:${uid}:${gid}::${home}:/bin/sh\n`);
  appendFileSync(path.join(root, 'etc/group'), `${name}:x:${gid}:\n`);
  if (existsSync(path.join(root, 'etc/shadow'))) {
    appendFileSync(path.join(root, 'etc/shadow'), `${name}:*:20000:0:99999:7:::\n`);
  }
  mkdirSync(path.join(root, home), { recursive: true });
  chownSync(path.join(root, home), uid, gid);
}

async function buildBase(
  tempDir: string,
  name: string,
  nodeVersion: string,
  log: (line: string) => void,
): Promise<void> {
  const started = performance.now();
  const seconds = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  await ensureDebianPackages(['mmdebstrap']);
  const npm = await npmMajor();
  log(`building ${name}: Debian ${BASE_SUITE} (mmdebstrap), Node ${nodeVersion}, npm ${npm}`);
  const work = path.join(tempDir, 'work');
  mkdirSync(work);
  mkdirSync(IMAGES_LOG_DIR, { recursive: true });
  const logFile = path.join(IMAGES_LOG_DIR, 'base.log');
  rmSync(logFile, { force: true });
  const rootfs = path.join(work, 'rootfs.tar');
  await runCommand('mmdebstrap', mmdebstrapArgs(BASE_SUITE, rootfs), { logFile });
  log(`  Debian ${BASE_SUITE} root file system ready after ${seconds()}`);
  const packed = JSON.parse(
    await runCommand('npm', ['pack', `npm@${npm}`, '--json', '--pack-destination', work], {
      cwd: work,
    }),
  ) as { filename: string; version: string }[];
  const npmPackage = packed[0];
  if (!npmPackage) throw new Error(`npm pack npm@${npm} gave no package`);

  const container = (await buildah(['from', 'scratch'])).trim();
  try {
    const root = (await buildah(['mount', container])).trim();
    await runCommand('tar', ['-xf', rootfs, '-C', root, '--numeric-owner']);
    const nodeBinary = path.join(root, 'usr/local/bin/node');
    mkdirSync(path.dirname(nodeBinary), { recursive: true });
    copyFileSync(realpathSync(path.join(REPO_ROOT, 'node_modules/node/bin/node')), nodeBinary);
    chmodSync(nodeBinary, 0o755);
    const npmDir = path.join(root, 'usr/local/lib/node_modules/npm');
    mkdirSync(npmDir, { recursive: true });
    const tarball = path.join(work, npmPackage.filename);
    await runCommand('tar', [
      '-xzf',
      tarball,
      '-C',
      npmDir,
      '--strip-components=1',
      '--no-same-owner',
    ]);
    for (const [link, target] of [
      ['npm', 'npm-cli.js'],
      ['npx', 'npx-cli.js'],
    ] as const) {
      symlinkSync(`../lib/node_modules/npm/bin/${target}`, path.join(root, 'usr/local/bin', link));
    }
    addNodeUser(root);
    await buildah(['umount', container]);
    await buildah([
      'config',
      '--env',
      `PATH=${PATH_ENV}`,
      '--env',
      `NODE_VERSION=${nodeVersion}`,
      '--cmd',
      'node',
      container,
    ]);
    const versions = await buildah(
      buildahRunArgs(container, ['sh', '-c', 'node --version && npm --version']),
    );
    if (!versions.startsWith(`v${nodeVersion}\n`)) {
      throw new Error(`the base image's node says ${versions.trim()}, not v${nodeVersion}`);
    }
    const id = (await buildah(['commit', '--quiet', '--rm', container, name])).trim();
    rmSync(work, { recursive: true, force: true });
    await pushArchive(name, archivePath(tempDir));
    writeImageRecord(tempDir, { name, id }, { nodeVersion, npmVersion: npmPackage.version });
    log(`  ${name} built in ${seconds()} (npm ${npmPackage.version})`);
  } catch (error) {
    await buildah(['rm', container]).catch(() => undefined);
    throw error;
  }
}

/**
 * The base image, in buildah's storage under its name (rebuilt from its archive if the storage
 * lost it). Built once per Node version.
 */
export async function ensureBaseImage(
  log: (line: string) => void = console.log,
): Promise<ImageRecord> {
  const nodeVersion = projectNodeVersion();
  const name = baseImageName(nodeVersion);
  const dir = await ensureCachedDir(
    `base-node-${nodeVersion}-${BASE_SUITE}`,
    (tempDir) => buildBase(tempDir, name, nodeVersion, log),
    { cacheDir: IMAGES_DIR },
  );
  const image = readImageRecord(dir);
  await ensureInStorage(image);
  return image;
}
