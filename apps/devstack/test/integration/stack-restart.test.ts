// The local stack's supervisor (what `make up` starts detached) restarts an app that dies: the
// processor is killed with SIGKILL, comes back with a new pid, and `make status` / the state file
// show the restart and the signal; SIGTERM then stops everything without restarting anything.
// The stack runs in its own folder on free ports, against the suite's Kafka and PostgreSQL.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { alive } from '../../src/child.ts';
import { REPO_ROOT } from '../../src/paths.ts';
import { freePorts, waitFor } from '../../src/ports.ts';
import type { StackState } from '../../src/stack/settings.ts';
import { createTestDatabase, type TestDatabase } from '../../src/test/database.ts';
import { createTestTopics, testBrokers } from '../../src/test/kafka.ts';

const run = promisify(execFile);
const CLI = path.join(REPO_ROOT, 'apps', 'devstack', 'src', 'cli.ts');

describe('local stack supervisor', function () {
  this.timeout(240_000);
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let db: TestDatabase;
  let supervisor: ChildProcess;
  let supervisorExit: Promise<number | string>;
  const localDir = () => path.join(dir, 'local');
  const stackLog = () => path.join(localDir(), 'logs', 'stack.log');
  const readState = (): StackState | undefined => {
    try {
      return JSON.parse(readFileSync(path.join(localDir(), 'stack.json'), 'utf8')) as StackState;
    } catch {
      return undefined;
    }
  };
  const cli = async (...args: string[]) =>
    (await run(process.execPath, [CLI, ...args], { env, timeout: 30_000 })).stdout;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-stack-'));
    mkdirSync(path.join(localDir(), 'logs'), { recursive: true });
    const sites = path.join(dir, 'sites');
    mkdirSync(sites);
    writeFileSync(
      path.join(sites, 'site.yaml'),
      'apiVersion: telemetrypulse.io/v1alpha1\nkind: Site\nmetadata:\n  name: restart-site\n' +
        'spec:\n  zones: 1\n  devicesPerZone: 1\n  eventsPerSecond: 1\n',
    );
    db = await createTestDatabase();
    const topics = await createTestTopics(1);
    const [api = 0, processor = 0, simulator = 0] = await freePorts(3);
    env = {
      ...process.env,
      TELEMETRYPULSE_LOCAL_DIR: localDir(),
      KAFKA_BROKERS: testBrokers(),
      DATABASE_URL: db.url,
      API_PORT: String(api),
      PROCESSOR_METRICS_PORT: String(processor),
      SIMULATOR_METRICS_PORT: String(simulator),
      SITES_DIR: sites,
      EVENTS_TOPIC: topics.events,
      DLQ_TOPIC: topics.dlq,
      ALERTS_TOPIC: topics.alerts,
      CONSUMER_GROUP: `${topics.events}.processor`,
    };
    // As `make up` does, minus detaching: the supervisor's output goes to logs/stack.log.
    const out = openSync(stackLog(), 'a');
    supervisor = spawn(process.execPath, [CLI, 'run'], { env, stdio: ['ignore', out, out] });
    supervisorExit = new Promise((resolve) => {
      supervisor.once('exit', (code, signal) => {
        resolve(code ?? signal ?? 'unknown');
      });
    });
    await waitFor(
      'the stack to be ready',
      () => {
        const state = readState();
        if (state?.state === 'failed') throw new Error(state.error);
        return Promise.resolve(state?.state === 'ready');
      },
      180_000,
      500,
    );
  });

  after(async () => {
    // After a failure: stop whatever still runs, by pid.
    const state = readState();
    if (supervisor.exitCode === null && supervisor.signalCode === null) {
      supervisor.kill('SIGTERM');
      await Promise.race([supervisorExit, new Promise((r) => setTimeout(r, 60_000))]);
    }
    for (const pid of Object.values(state?.pids ?? {})) {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    await db.drop();
    if (!process.env.KEEP_TEST_PLATFORM) rmSync(dir, { recursive: true, force: true });
  });

  it('when the processor is killed with SIGKILL, then it is started again and status shows the restart', async () => {
    const before = readState()?.apps?.processor;
    assert.ok(before, 'the state file lists the processor');
    assert.equal(before.status, 'running');
    assert.equal(before.restarts, 0);
    process.kill(before.pid, 'SIGKILL');

    await waitFor(
      'the processor to be restarted',
      () => {
        const now = readState()?.apps?.processor;
        return Promise.resolve(
          now !== undefined && now.status === 'running' && now.pid !== before.pid && alive(now.pid),
        );
      },
      60_000,
      250,
    );
    const after = readState()?.apps?.processor;
    assert.ok(after);
    assert.equal(after.restarts, 1);
    assert.equal(after.lastExit?.signal, 'SIGKILL');
    assert.equal(readState()?.pids.processor, after.pid, 'make down finds the new pid');
    assert.match(
      readFileSync(stackLog(), 'utf8'),
      new RegExp(
        `processor \\(pid ${before.pid}\\) exited with signal SIGKILL .*restarting in 1\\.0 s`,
      ),
    );
    // The API and the simulator were left alone.
    assert.equal(readState()?.apps?.api?.restarts, 0);
    assert.equal(readState()?.apps?.['simulator-restart-site']?.restarts, 0);

    const status = await cli('status');
    assert.match(
      status,
      new RegExp(
        `processor +pid ${String(after.pid)} +running +restarts 1 +last exit: signal SIGKILL at `,
      ),
    );
    assert.match(status, /api +pid \d+ +running +restarts 0/);
  });

  it('when the logs are shown without following, then each line names its process', async () => {
    const lines = (await cli('logs', '--no-follow')).split('\n').filter(Boolean);
    assert.ok(
      lines.some((l) => l.startsWith('[processor] ')),
      'processor lines',
    );
    assert.ok(
      lines.some((l) => /^\[stack\] +.*restarted/.test(l)),
      'the restart in stack.log',
    );
    assert.ok(
      lines.every((l) => /^\[[\w.-]+\] /.test(l)),
      'every line has a prefix',
    );
  });

  it('when the supervisor gets SIGTERM, then everything stops and nothing is restarted', async () => {
    const pids = Object.values(readState()?.pids ?? {});
    const logBefore = readFileSync(stackLog(), 'utf8').length;
    supervisor.kill('SIGTERM');
    assert.equal(await supervisorExit, 0);
    for (const pid of pids) assert.equal(alive(pid), false, `pid ${pid} stopped`);
    const stopLog = readFileSync(stackLog(), 'utf8').slice(logBefore);
    assert.match(stopLog, /stopped/);
    assert.doesNotMatch(stopLog, /restarted|restarting|exited with/);
    assert.equal(existsSync(path.join(localDir(), 'stack.json')), false);
  });
});
