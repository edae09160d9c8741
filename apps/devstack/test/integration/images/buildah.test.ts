// The real images: the API image built by buildah from the project's Dockerfile on the local Node
// base (or reused from the cache when its inputs did not change), looked at the way a container
// runtime sees it, and its archive loaded into a containerd of the test's own. Needs root.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startChild, type Child } from '../../../src/child.ts';
import { waitFor } from '../../../src/ports.ts';
import {
  buildah,
  buildahRunArgs,
  ensureInStorage,
  localImageId,
} from '../../../src/images/buildah.ts';
import {
  buildImages,
  defaultImageTag,
  ensurePauseImage,
  importImages,
  type BuiltImages,
} from '../../../src/images/build.ts';
import { runCommand } from '../../../src/images/command.ts';
import { ensureDebianPackages } from '../../../src/tools/debian.ts';

interface ImageConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
}

describe('container images built by buildah from the Dockerfile', function () {
  // A cold machine builds the Debian base and the image here (a few minutes); warm, seconds.
  this.timeout(20 * 60_000);
  let images: BuiltImages<'api'>;
  let container: string | undefined;

  before(async function () {
    if (process.getuid?.() !== 0) {
      // Not a failure: a normal user's `make test` covers the images' contents (images.test.ts);
      // the real builds and the node that runs them are `make images` / `make e2e`, as root.
      console.log('      skipped: building images with buildah and mmdebstrap needs root');
      this.skip();
    }
    images = await buildImages({
      apps: ['api'],
      log: (line) => {
        console.log(`      ${line}`);
      },
    });
    await ensureInStorage(images.apps.api);
  });

  after(async () => {
    if (container) await buildah(['rm', container]);
  });

  it('when built again with unchanged inputs, then nothing is rebuilt and the same archive comes back', async () => {
    const started = performance.now();
    const again = await buildImages({ apps: ['api'], log: () => undefined });
    assert.equal(again.apps.api.rebuilt, false);
    assert.equal(again.apps.api.id, images.apps.api.id);
    assert.equal(again.apps.api.archive, images.apps.api.archive);
    assert.ok(performance.now() - started < 15_000, 'a reuse takes no build');
  });

  it('when inspected, then the API image runs as 1000:1000 with the Dockerfile entry point, built on the local base', async () => {
    const { name } = images.apps.api;
    assert.equal(name, `localhost/telemetrypulse/api:${defaultImageTag()}`);
    assert.equal(await localImageId(name), images.apps.api.id);
    const inspected = JSON.parse(await buildah(['inspect', '--type', 'image', name])) as {
      OCIv1: { config: ImageConfig };
    };
    const config = inspected.OCIv1.config;
    assert.equal(config.User, '1000:1000');
    assert.equal(config.WorkingDir, '/app');
    assert.ok(config.Env?.includes('APP=api'), config.Env?.join(' '));
    assert.ok(config.Env?.includes('NODE_ENV=production'));
    assert.deepEqual(config.Entrypoint?.slice(0, 2), ['/bin/sh', '-c']);
    assert.ok(
      !config.Env?.some((e) => e.startsWith('NODE_EXTRA_CA_CERTS')),
      'the build-only CA setting stays out of the image',
    );
  });

  it('when mounted, then it holds the API, the shared package, the migrations and production dependencies only', async () => {
    container = (await buildah(['from', '--pull=never', images.apps.api.name])).trim();
    const root = (await buildah(['mount', container])).trim();
    try {
      const app = (relative: string) => existsSync(path.join(root, 'app', relative));
      assert.ok(app('apps/api/src/main.ts'));
      assert.ok(app('apps/shared/src/index.ts'));
      assert.ok(app('postgres/migrations/0001_init.sql'));
      assert.ok(app('node_modules/express/package.json'));
      assert.ok(!app('node_modules/typescript'), 'no dev dependencies');
      assert.ok(!app('node_modules/@kubernetes/client-node'), "no other app's dependencies");
      assert.ok(!app('apps/operator/src'));
      assert.ok(!app('apps/devstack/src'));
      assert.ok(!app('apps/api/test'), '.dockerignore applies');
      assert.ok(existsSync(path.join(root, 'usr/local/bin/node')));
    } finally {
      await buildah(['umount', container]);
    }
  });

  it('when run, then node is v24 as user 1000, and the entry point starts the API', async () => {
    assert.ok(container, 'the mount test made the working container');
    const out = await buildah(
      buildahRunArgs(container, ['sh', '-c', 'id -u; id -g; node --version']),
    );
    const [uid, gid, version] = out.trim().split('\n');
    assert.equal(uid, '1000');
    assert.equal(gid, '1000');
    assert.match(version ?? '', /^v24\./);
    // The image's ENTRYPOINT with --help: the API's code and dependencies load in the image.
    const entrypoint = ['/bin/sh', '-c', 'exec node "apps/${APP}/src/main.ts" "$@"', '--'];
    const help = await buildah(buildahRunArgs(container, [...entrypoint, '--help']));
    assert.match(help, /Environment variables:/);
  });

  it('when run as user 1000, then the app loads from the compile cache filled at build time, without type-stripping again', async () => {
    assert.ok(container, 'the mount test made the working container');
    // Node reports each cache lookup; the image's ENV names the cache.
    const command = 'NODE_DEBUG_NATIVE=COMPILE_CACHE node apps/api/src/main.ts --help 2>&1';
    const out = await buildah(buildahRunArgs(container, ['sh', '-c', command]));
    for (const file of ['apps/api/src/main.ts', 'apps/shared/src/index.ts']) {
      assert.ok(
        out.includes(
          `retrieving transpile cache for StrippedTypeScript file:///app/${file}...success`,
        ),
        `${file} not served from the cache:\n${out.slice(0, 2000)}`,
      );
    }
    assert.doesNotMatch(out, /no transpile cache for StrippedTypeScript/);
  });

  it('when the pause binary gets SIGTERM, then it exits 0', async () => {
    const { binary } = await ensurePauseImage(() => undefined);
    const child = spawn(binary, [], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(child.exitCode, null, 'it waits');
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });

  describe('imported into containerd', () => {
    let dir: string;
    let containerd: Child | undefined;

    before(async () => {
      await ensureDebianPackages(['containerd']);
      dir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-containerd-'));
      const socket = path.join(dir, 'containerd.sock');
      // A containerd of its own, without CRI: it only stores and unpacks images.
      writeFileSync(
        path.join(dir, 'config.toml'),
        [
          'version = 2',
          `root = ${JSON.stringify(path.join(dir, 'root'))}`,
          `state = ${JSON.stringify(path.join(dir, 'state'))}`,
          'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
          '[grpc]',
          `  address = ${JSON.stringify(socket)}`,
          '[ttrpc]',
          `  address = ${JSON.stringify(`${socket}.ttrpc`)}`,
          '',
        ].join('\n'),
      );
      containerd = startChild({
        name: 'containerd',
        command: 'containerd',
        args: ['--config', path.join(dir, 'config.toml')],
        logFile: path.join(dir, 'containerd.log'),
      });
      await waitFor('containerd socket', () => Promise.resolve(existsSync(socket)), 30_000);
    });

    after(async () => {
      await containerd?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('when the archives are imported, then containerd lists the images under the names built', async () => {
      const containerdAddress = path.join(dir, 'containerd.sock');
      const names = await importImages([images.pause.archive, images.apps.api.archive], {
        containerdAddress,
        namespace: 'k8s.io',
      });
      assert.deepEqual(names, [images.pause.name, images.apps.api.name]);
      const listed = await runCommand('ctr', [
        '--address',
        containerdAddress,
        '-n',
        'k8s.io',
        'images',
        'ls',
        '-q',
      ]);
      for (const name of names) assert.ok(listed.split('\n').includes(name), listed);
    });
  });
});
