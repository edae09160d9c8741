// The pure parts of the local image builds: names, build inputs and their hash, command lines.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mmdebstrapArgs } from '../../src/images/base.ts';
import { buildahArgs, buildahStorage } from '../../src/images/buildah.ts';
import { appBuildArgs, appBuildArgValues, BUILD_CA_PATH } from '../../src/images/build.ts';
import { buildInputs, contextSources, dockerignoreMatcher } from '../../src/images/content-hash.ts';
import { ctrImportArgs, importedNames } from '../../src/images/import.ts';
import {
  appCacheName,
  appImageName,
  baseImageName,
  chartAppVersion,
  isAppCacheName,
  pauseImageName,
} from '../../src/images/names.ts';
import { REPO_ROOT } from '../../src/paths.ts';

const DOCKERFILE = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');

describe('local images: names', () => {
  it('when an image is named, then the name is fully qualified under localhost/', () => {
    assert.equal(appImageName('api', '0.1.0'), 'localhost/telemetrypulse/api:0.1.0');
    assert.equal(pauseImageName('1.0.0'), 'localhost/telemetrypulse/pause:1.0.0');
    assert.equal(baseImageName('24.21.0'), 'localhost/telemetrypulse-base:node-24.21.0-bookworm');
  });

  it('when a tag is not a valid image tag, then naming refuses it', () => {
    assert.throws(() => appImageName('api', '0.1.0 beta'), /not a valid image tag/);
    assert.throws(() => appImageName('api', ''), /not a valid image tag/);
  });

  it('when the chart is read, then the tag is its appVersion, also when it is written unquoted', () => {
    const chartYaml = readFileSync(
      path.join(REPO_ROOT, 'charts/telemetrypulse/Chart.yaml'),
      'utf8',
    );
    const appVersion = /^appVersion:\s*"?([^"\s]+)"?/m.exec(chartYaml)?.[1];
    assert.equal(chartAppVersion(chartYaml), appVersion);
    assert.equal(chartAppVersion('apiVersion: v2\nappVersion: 2.0\n'), '2.0');
    assert.equal(chartAppVersion('appVersion: "2.0"\n'), '2.0');
    assert.throws(() => chartAppVersion('apiVersion: v2\n'), /no appVersion/);
  });

  it('when cache folders are listed, then only builds of the same app and tag match', () => {
    const name = appCacheName('api', '0.1.0', 'ab'.repeat(32));
    assert.equal(name, 'api-0.1.0-abababababababab');
    assert.ok(isAppCacheName(name, 'api', '0.1.0'));
    assert.ok(!isAppCacheName(name, 'api', '0.1'));
    assert.ok(!isAppCacheName(name, 'operator', '0.1.0'));
    assert.ok(!isAppCacheName(`${name}.lock`, 'api', '0.1.0'));
    assert.ok(!isAppCacheName(`${name}.tmp-123`, 'api', '0.1.0'));
  });
});

describe('local images: what a build reads', () => {
  it("when the project's Dockerfile is read for one app, then its COPY sources are the manifests, that app, shared and the migrations", () => {
    const sources = contextSources(DOCKERFILE, { APP: 'api' });
    for (const expected of [
      'package.json',
      'package-lock.json',
      '.npmrc',
      'apps/shared/package.json',
      'apps/operator/package.json',
      'apps/shared/src',
      'apps/api/src',
      'postgres/migrations',
    ]) {
      assert.ok(sources.includes(expected), `${expected} missing from ${sources.join(' ')}`);
    }
    assert.ok(!sources.includes('apps/operator/src'));
    assert.ok(!sources.some((s) => s.includes('$')), 'build args are expanded');
  });

  it('when a COPY takes from a stage, then it reads nothing from the context', () => {
    const text = 'FROM a AS one\nARG X=lib\nCOPY ${X}/src /s\nFROM b\nCOPY --from=one /s /t\n';
    assert.deepEqual(contextSources(text, {}), ['lib/src']);
    assert.deepEqual(contextSources(text, { X: 'other' }), ['other/src']);
  });

  it('when .dockerignore patterns are applied, then folders, globs and exceptions behave as in Docker', () => {
    const ignored = dockerignoreMatcher(
      '# comment\n**/node_modules\n.git\n**/test\n**/*.md\n/dist/\n!apps/api/KEEP.md\n',
    );
    assert.ok(ignored('node_modules'));
    assert.ok(ignored('apps/api/node_modules/express/index.js'));
    assert.ok(ignored('.git/HEAD'));
    assert.ok(ignored('apps/api/test/app.test.ts'));
    assert.ok(ignored('README.md'));
    assert.ok(ignored('apps/api/src/notes.md'));
    assert.ok(ignored('dist/x.js'));
    assert.ok(!ignored('apps/api/KEEP.md'));
    assert.ok(!ignored('apps/api/src/main.ts'));
    assert.ok(!ignored('apps/api/src/testing.ts'));
    assert.ok(!ignored('package.json'));
  });

  describe('the content hash', () => {
    let context: string;
    const write = (relative: string, text: string) => {
      mkdirSync(path.dirname(path.join(context, relative)), { recursive: true });
      writeFileSync(path.join(context, relative), text);
    };
    const inputs = (baseImageId = 'base1', app = 'a') =>
      buildInputs({
        context,
        dockerfile: path.join(context, 'Dockerfile'),
        buildArgs: { APP: app },
        baseImageId,
      });

    beforeEach(() => {
      context = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-hash-test-'));
      write('Dockerfile', 'FROM base\nARG APP\nCOPY package.json ./\nCOPY apps/${APP}/src src\n');
      write('.dockerignore', '**/test\n**/*.md\n');
      write('package.json', '{}');
      write('apps/a/src/main.ts', 'one');
      write('apps/a/src/test/x.ts', 'ignored');
      write('apps/a/src/README.md', 'ignored');
      write('apps/b/src/main.ts', 'other app');
      write('unrelated.txt', 'not copied');
    });
    afterEach(() => {
      rmSync(context, { recursive: true, force: true });
    });

    it('when nothing changed, then the hash is the same, and it lists exactly what the build reads', () => {
      const first = inputs();
      assert.equal(inputs().hash, first.hash);
      assert.deepEqual(first.files, [
        '.dockerignore',
        'Dockerfile',
        'apps/a/src/main.ts',
        'package.json',
      ]);
    });

    it('when a source, the Dockerfile, .dockerignore, the app or the base image changes, then the hash changes', () => {
      const before = inputs().hash;
      assert.notEqual(inputs('base2').hash, before, 'base image');
      assert.notEqual(inputs('base1', 'b').hash, before, 'app');
      write('apps/a/src/main.ts', 'two');
      const afterSource = inputs().hash;
      assert.notEqual(afterSource, before, 'source');
      write('Dockerfile', `${readFileSync(path.join(context, 'Dockerfile'), 'utf8')}USER 1\n`);
      const afterDockerfile = inputs().hash;
      assert.notEqual(afterDockerfile, afterSource, 'Dockerfile');
      write('.dockerignore', '**/test\n');
      assert.notEqual(inputs().hash, afterDockerfile, '.dockerignore');
    });

    it('when only ignored or uncopied files change, then the hash stays', () => {
      const before = inputs().hash;
      write('apps/a/src/test/x.ts', 'changed');
      write('apps/a/src/README.md', 'changed');
      write('apps/b/src/main.ts', 'changed');
      write('unrelated.txt', 'changed');
      assert.equal(inputs().hash, before);
    });

    it('when a COPY source is missing, then hashing fails as the build would', () => {
      rmSync(path.join(context, 'apps/a'), { recursive: true });
      assert.throws(() => inputs(), /no apps\/a\/src/);
    });
  });
});

describe('local images: command lines', () => {
  const build = {
    app: 'api' as const,
    name: 'localhost/telemetrypulse/api:0.1.0',
    baseImage: 'localhost/telemetrypulse-base:node-24.21.0-bookworm',
    dockerfile: '/repo/Dockerfile',
    context: '/repo',
    iidFile: '/tmp/iid',
  };
  const pairs = (args: string[], flag: string) =>
    args.flatMap((arg, i) => (arg === flag ? [args[i + 1]] : []));

  it('when an app is built, then buildah builds the real Dockerfile with the app and the local base, pulling nothing', () => {
    const args = appBuildArgs(build);
    assert.equal(args[0], 'bud');
    assert.deepEqual(pairs(args, '--build-arg'), [
      'APP=api',
      'NODE_IMAGE=localhost/telemetrypulse-base:node-24.21.0-bookworm',
    ]);
    assert.deepEqual(pairs(args, '--file'), ['/repo/Dockerfile']);
    assert.deepEqual(pairs(args, '--tag'), [build.name]);
    assert.deepEqual(pairs(args, '--isolation'), ['chroot']);
    assert.deepEqual(pairs(args, '--runtime'), ['/usr/sbin/runc']);
    assert.ok(args.includes('--pull=never'));
    assert.deepEqual(pairs(args, '--volume'), []);
    assert.equal(args.at(-1), '/repo', 'the context comes last');
  });

  it('when the host has a CA bundle, then the build mounts it read-only and npm is told to trust it', () => {
    const args = appBuildArgs({ ...build, caBundle: '/etc/ssl/certs/ca-certificates.crt' });
    assert.deepEqual(pairs(args, '--volume'), [
      `/etc/ssl/certs/ca-certificates.crt:${BUILD_CA_PATH}:ro`,
    ]);
    assert.ok(pairs(args, '--build-arg').includes(`NODE_EXTRA_CA_CERTS=${BUILD_CA_PATH}`));
    assert.equal(
      appBuildArgValues({ ...build, caBundle: '/x.crt' }).NODE_EXTRA_CA_CERTS,
      BUILD_CA_PATH,
    );
  });

  it("when buildah runs, then it uses the project's vfs storage, and image transfers take the project's policy", () => {
    const storage = buildahStorage('/cache/buildah');
    const push = buildahArgs(storage, ['push', 'img', 'oci-archive:/x.tar:img']);
    assert.deepEqual(push.slice(0, 6), [
      '--root',
      '/cache/buildah/root',
      '--runroot',
      '/cache/buildah/runroot',
      '--storage-driver',
      'vfs',
    ]);
    assert.deepEqual(push.slice(6, 9), [
      'push',
      '--signature-policy',
      '/cache/buildah/policy.json',
    ]);
    assert.ok(!buildahArgs(storage, ['images']).includes('--signature-policy'));
  });

  it('when the Debian root file system is made, then mmdebstrap gets no mirror of ours', () => {
    const args = mmdebstrapArgs('bookworm', '/tmp/rootfs.tar');
    assert.deepEqual(args.slice(-2), ['bookworm', '/tmp/rootfs.tar']);
    assert.ok(args.includes('--variant=minbase'));
    assert.ok(args.includes('--mode=root'));
    assert.ok(!args.some((arg) => arg.includes('://')));
  });

  it('when archives are imported, then ctr gets the socket and namespace, and the imported names are read back', () => {
    assert.deepEqual(ctrImportArgs('/a.tar', { containerdAddress: '/run/c.sock' }), [
      '--address',
      '/run/c.sock',
      '-n',
      'k8s.io',
      'images',
      'import',
      '/a.tar',
    ]);
    const output =
      'unpacking localhost/telemetrypulse/api:0.1.0 (sha256:e3d2dacaa8ef)...done\n' +
      'unpacking localhost/telemetrypulse/pause:1.0.0 (sha256:0a1b)...done\n';
    assert.deepEqual(importedNames(output), [
      'localhost/telemetrypulse/api:0.1.0',
      'localhost/telemetrypulse/pause:1.0.0',
    ]);
  });
});
