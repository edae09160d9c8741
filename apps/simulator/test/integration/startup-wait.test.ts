// The simulator on a fresh cluster: started before the Kafka broker accepts connections, it
// waits (alive on /livez, not ready, one log line per attempt) and publishes once the broker
// is there. The broker "comes up" when a proxy in front of the suite's real broker listens.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import {
  assertGaveUp,
  assertStopsCleanly,
  createTestTopics,
  freePorts,
  hostPort,
  type NodeProcess,
  spawnNode,
  tcpProxy,
  type TcpProxy,
  testBrokers,
  waitFor,
} from '@telemetrypulse/devstack/test';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

describe('simulator startup waits for Kafka (child process)', () => {
  let simulator: NodeProcess | undefined;
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    await simulator?.kill();
    await proxy?.close();
  });

  function start(kafkaPort: number, httpPort: number, env: Record<string, string>): NodeProcess {
    return spawnNode(MAIN, {
      KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      LOG_LEVEL: 'info',
      SITE_ID: 'site-startup',
      EVENTS_PER_SECOND: '5',
      ...env,
    });
  }

  it('when the broker comes up after the simulator started, then it waits (alive, not ready) and then becomes ready to publish', async () => {
    const topics = await createTestTopics(1);
    const [kafkaPort = 0, httpPort = 0] = await freePorts(2);
    proxy = tcpProxy(kafkaPort, hostPort(testBrokers()));
    simulator = start(kafkaPort, httpPort, {
      EVENTS_TOPIC: topics.events,
      STARTUP_WAIT_SECONDS: '600',
    });
    await simulator.waitForOutput(/"attempt":2,"code":"ECONNREFUSED"/, 'a second refused attempt');
    assert.equal((await fetch(`http://127.0.0.1:${httpPort}/livez`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status, 503);

    await proxy.listen();
    await simulator.waitForOutput(
      new RegExp(`"msg":"Kafka at 127\\.0\\.0\\.1:${kafkaPort} is up"`),
    );
    const waiting = simulator
      .logLines()
      .filter((l) => String(l.msg).startsWith('waiting for Kafka'));
    assert.deepEqual(
      waiting.map((l) => [l.target, l.attempt, l.code]),
      waiting.map((_l, i) => [`127.0.0.1:${kafkaPort}`, i + 1, 'ECONNREFUSED']),
    );

    // The producer connected: /readyz answers 200 (the bound only guards against a hang).
    await waitFor(
      'the simulator ready',
      async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).ok,
      60_000,
    );

    await assertStopsCleanly(simulator);
  });

  it('when SIGTERM arrives while it waits, then it stops promptly and exits 0', async () => {
    const [kafkaPort = 0, httpPort = 0] = await freePorts(2);
    simulator = start(kafkaPort, httpPort, { STARTUP_WAIT_SECONDS: '600' });
    await assertStopsCleanly(simulator, /waiting for Kafka/);
  });

  it('when the broker does not come within STARTUP_WAIT_SECONDS, then it exits 1 with a clear message', async () => {
    const [kafkaPort = 0, httpPort = 0] = await freePorts(2);
    simulator = start(kafkaPort, httpPort, { STARTUP_WAIT_SECONDS: '1' });
    await assertGaveUp(simulator, 'Kafka', `127\\.0\\.0\\.1:${kafkaPort}`);
  });
});
