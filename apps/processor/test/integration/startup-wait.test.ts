// The processor on a fresh cluster: started before PostgreSQL and the Kafka broker accept
// connections, it waits for both (one log line per attempt each) and starts once they are there;
// SIGTERM during the wait stops it with exit 0. The servers "come up" when proxies in front of
// the suite's real PostgreSQL and broker start listening.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  assertGaveUp,
  assertStopsCleanly,
  createTestDatabase,
  createTestTopics,
  freePorts,
  hostPort,
  tcpProxy,
  type TcpProxy,
  testBrokers,
  type TestDatabase,
} from '@telemetrypulse/devstack/test';
import { spawnProcessor, type ProcessorProcess } from '../processor-process.ts';

/** How many "waiting for <name>" lines the processor logged so far. */
function waitingFor(processor: ProcessorProcess, name: string): Record<string, unknown>[] {
  return processor
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((l) => String(l.msg).startsWith(`waiting for ${name} at`));
}

async function until(what: string, check: () => boolean, processor: ProcessorProcess) {
  let exited: number | string | undefined;
  void processor.exited.then((code) => (exited = code));
  while (!check()) {
    if (exited !== undefined)
      throw new Error(`exited (${exited}) before ${what}:\n${processor.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('processor startup waits for PostgreSQL and Kafka (child process)', () => {
  let db: TestDatabase;
  let processor: ProcessorProcess | undefined;
  const proxies: TcpProxy[] = [];
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async function () {
    this.timeout(60_000);
    if (processor && processor.child.exitCode === null && processor.child.signalCode === null) {
      processor.child.kill('SIGKILL');
      await processor.exited;
    }
    await Promise.all(proxies.splice(0).map((p) => p.close()));
    await db.drop();
  });

  function start(dbPort: number, kafkaPort: number, env: Record<string, string>) {
    const url = new URL(db.url);
    url.hostname = '127.0.0.1';
    url.port = String(dbPort);
    return spawnProcessor({
      brokers: `127.0.0.1:${kafkaPort}`,
      databaseUrl: url.toString(),
      topics: { events: `unused.${randomUUID()}`, dlq: 'unused.dlq', alerts: 'unused.alerts' },
      groupId: `startup-${randomUUID()}`,
      env: { LOG_LEVEL: 'info', ...env },
    });
  }

  it('when both come up after the processor started, then it waits for each, logging its attempts, and starts', async function () {
    this.timeout(120_000);
    const topics = await createTestTopics(1);
    const [dbPort = 0, kafkaPort = 0] = await freePorts(2);
    const pg = tcpProxy(dbPort, hostPort(db.url));
    const kafka = tcpProxy(kafkaPort, hostPort(testBrokers()));
    proxies.push(pg, kafka);
    const url = new URL(db.url);
    url.hostname = '127.0.0.1';
    url.port = String(dbPort);
    processor = spawnProcessor({
      brokers: `127.0.0.1:${kafkaPort}`,
      databaseUrl: url.toString(),
      topics,
      groupId: `startup-${randomUUID()}`,
      env: { LOG_LEVEL: 'info', STARTUP_WAIT_SECONDS: '600' },
    });
    const p = processor;
    await until(
      'two refused attempts at each',
      () => waitingFor(p, 'PostgreSQL').length >= 2 && waitingFor(p, 'Kafka').length >= 2,
      p,
    );

    await pg.listen();
    await kafka.listen();
    await until('the processor started', () => /"msg":"processor started"/.test(p.output()), p);

    for (const [name, target] of [
      ['PostgreSQL', `127.0.0.1:${dbPort}${url.pathname}`],
      ['Kafka', `127.0.0.1:${kafkaPort}`],
    ] as const) {
      const lines = waitingFor(p, name);
      assert.deepEqual(
        lines.map((l) => [l.dependency, l.target, l.attempt, l.code]),
        lines.map((_l, i) => [name, target, i + 1, 'ECONNREFUSED']),
      );
      assert.match(
        p.output(),
        new RegExp(`"msg":"${name} at ${target.replace(/\./g, '\\.')} is up"`),
      );
    }

    await assertStopsCleanly(p);
  });

  it('when SIGTERM arrives while it waits, then it stops promptly and exits 0', async () => {
    const [dbPort = 0, kafkaPort = 0] = await freePorts(2);
    processor = start(dbPort, kafkaPort, { STARTUP_WAIT_SECONDS: '600' });
    const p = processor;
    await until('a waiting line', () => waitingFor(p, 'PostgreSQL').length >= 1, p);
    await assertStopsCleanly(p);
    assert.match(p.output(), /"msg":"stopped"/);
  });

  it('when the broker does not come within STARTUP_WAIT_SECONDS, then it exits 1 naming Kafka and its address', async () => {
    const [kafkaPort = 0] = await freePorts(1);
    const url = new URL(db.url);
    processor = start(Number(url.port), kafkaPort, { STARTUP_WAIT_SECONDS: '1' });
    await assertGaveUp(processor, 'Kafka', `127\\.0\\.0\\.1:${kafkaPort}`, '.*ECONNREFUSED');
  });
});
