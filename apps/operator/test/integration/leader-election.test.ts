import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Child, freePorts, startChild } from '@telemetrypulse/devstack/test';
import {
  createTestNamespace,
  type Testbed,
  TESTBED_START_TIMEOUT_MS,
  type TestNamespace,
  useTestbed,
} from '@telemetrypulse/devstack/test/kube';
import { eventually, installSiteCrd, SiteClient } from './kube.ts';

const LEASE = 'operator-election-test';
// Short, so a takeover after a crash happens within the test's patience.
const LEASE_SECONDS = 4;

interface Instance {
  id: string;
  port: number;
  child: Child;
  logFile: string;
}

/** One sample of a metric from an instance's /metrics, summed over the label sets given. */
async function metric(instance: Instance, name: string, labels = ''): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${instance.port}/metrics`);
  const text = await response.text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels && !line.includes(labels)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe('operator leader election (two processes, real API server)', function () {
  let testbed: Testbed;
  let namespace: TestNamespace;
  let namespaceCreated: TestNamespace | undefined;
  let sites: SiteClient;
  let logs: string;
  const instances: Instance[] = [];

  function start(id: string, port: number): Instance {
    const logFile = path.join(logs, `${id}.log`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      KUBECONFIG: testbed.kubeconfigPath,
      WATCH_NAMESPACE: namespace.name,
      LEASE_NAME: LEASE,
      LEASE_NAMESPACE: namespace.name,
      LEASE_DURATION_SECONDS: String(LEASE_SECONDS),
      LEASE_RENEW_DEADLINE_SECONDS: '3',
      LEASE_RETRY_SECONDS: '0.5',
      POD_NAME: id,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      LOG_LEVEL: 'info',
      SIMULATOR_IMAGE: 'telemetrypulse/simulator:test',
    };
    delete env.DATABASE_URL;
    const child = startChild({
      name: id,
      command: process.execPath,
      args: [path.resolve('apps/operator/src/main.ts')],
      env,
      logFile,
    });
    const instance = { id, port, child, logFile };
    instances.push(instance);
    return instance;
  }

  async function holder(): Promise<string | undefined> {
    const lease = await sites.clients.coordination.readNamespacedLease({
      name: LEASE,
      namespace: namespace.name,
    });
    return lease.spec?.holderIdentity || undefined;
  }

  /** The instance that holds the Lease and says it leads (its leader gauge is 1). */
  async function leaderAmong(candidates: Instance[]): Promise<Instance> {
    return eventually('a leader', async () => {
      const id = await holder();
      const leader = candidates.find((c) => c.id === id);
      return leader && (await metric(leader, 'telemetry_operator_leader')) === 1
        ? leader
        : undefined;
    });
  }

  async function rate(site: string): Promise<string | undefined> {
    const d = await sites.deployment(`sim-${site}`);
    const env = d?.spec?.template.spec?.containers[0]?.env;
    return env?.find((e) => e.name === 'EVENTS_PER_SECOND')?.value;
  }

  before(async function () {
    this.timeout(TESTBED_START_TIMEOUT_MS);
    testbed = await useTestbed();
    await installSiteCrd(testbed.kubeConfig());
    namespace = await createTestNamespace(testbed, 'election');
    namespaceCreated = namespace;
    sites = new SiteClient(testbed.kubeConfig(), namespace.name);
    logs = mkdtempSync(path.join(tmpdir(), 'operator-election-'));
  });

  after(async () => {
    await Promise.all(instances.map((i) => i.child.stop()));
    await namespaceCreated?.delete();
    if (logs) rmSync(logs, { recursive: true, force: true });
  });

  it('when two instances run, then only the leader reconciles; the other takes over when it stops or dies', async () => {
    const [portA, portB, portC] = await freePorts(3);
    const a = start('operator-a', portA!);
    const b = start('operator-b', portB!);
    const first = await leaderAmong([a, b]);
    const second = first === a ? b : a;
    // The follower is up and serving, and does not lead.
    await eventually('the follower serving', async () =>
      (await fetch(`http://127.0.0.1:${second.port}/readyz`)).ok ? true : undefined,
    );

    await sites.create('north', { eventsPerSecond: 2 });
    assert.equal(await eventually('sim-north', () => rate('north')), '2');
    await eventually('the leader counted its reconcile', async () =>
      (await metric(first, 'telemetry_operator_reconciles_total')) > 0 ? true : undefined,
    );
    assert.equal(await metric(second, 'telemetry_operator_leader'), 0);
    assert.equal(await metric(second, 'telemetry_operator_reconciles_total'), 0);

    // SIGTERM: the leader stops cleanly and hands the Lease over.
    await first.child.stop();
    assert.equal(await first.child.exited, 0);
    assert.match(readFileSync(first.logFile, 'utf8'), /lease released/);
    assert.equal(await leaderAmong([second]), second);
    await sites.patch('north', { spec: { eventsPerSecond: 3 } });
    await eventually('the new leader applies the change', async () =>
      (await rate('north')) === '3' ? true : undefined,
    );
    assert.ok((await metric(second, 'telemetry_operator_reconciles_total')) > 0);

    // SIGKILL: nothing is released; a standby takes over once the Lease expires.
    const third = start('operator-c', portC!);
    await eventually('the standby serving', async () =>
      (await fetch(`http://127.0.0.1:${third.port}/readyz`)).ok ? true : undefined,
    );
    assert.equal(await metric(third, 'telemetry_operator_leader'), 0);
    second.child.process.kill('SIGKILL');
    await second.child.exited;
    assert.equal(await leaderAmong([third]), third);
    await sites.patch('north', { spec: { eventsPerSecond: 4 } });
    await eventually('the standby, now leader, applies the change', async () =>
      (await rate('north')) === '4' ? true : undefined,
    );
  });
});
