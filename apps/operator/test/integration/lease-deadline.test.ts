// A leader whose API server stops answering (requests hang, they do not fail) must cut each
// Lease request short and stop leading before its Lease can expire for the other replicas.
// The leader reaches the real API server through a proxy the test stalls; a standby reaches it
// directly. Asserted on the order of what both report, not on durations.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts, spawnNode, type NodeProcess } from '@telemetrypulse/devstack/test';
import {
  type Testbed,
  TESTBED_START_TIMEOUT_MS,
  useTestbed,
  useTestNamespace,
} from '@telemetrypulse/devstack/test/kube';
import { makeClients } from '../../src/runtime/kube.ts';
import { eventually, installSiteCrd } from './kube.ts';
import { startStallingProxy, type StallingProxy } from './stalling-proxy.ts';

const LEASE = 'operator-deadline-test';
// Per request: half the renew deadline (3 s); the renew deadline well inside the Lease's 12 s.
const TIMINGS = {
  LEASE_DURATION_SECONDS: '12',
  LEASE_RENEW_DEADLINE_SECONDS: '6',
  LEASE_RETRY_SECONDS: '1',
};

interface Happening {
  who: string;
  what: string;
  by?: unknown;
}

/** The testbed's kubeconfig with another server address, written to `file`. */
function kubeconfigVia(testbed: Testbed, server: string, file: string): string {
  const config = testbed.kubeConfig();
  config.loadFromOptions({
    clusters: config.clusters.map((cluster) => ({ ...cluster, server })),
    users: config.users,
    contexts: config.contexts,
    currentContext: config.currentContext,
  });
  writeFileSync(file, config.exportConfig(), { mode: 0o600 });
  return file;
}

describe('operator leader election when the API server stops answering the leader', function () {
  let testbed: Testbed;
  const namespace = useTestNamespace('lease-deadline');
  let proxy: StallingProxy | undefined;
  let dir: string;
  const programs: NodeProcess[] = [];
  // Everything both operators log and the proxy sees, in the order the test learns of it.
  const timeline: Happening[] = [];

  before(async function () {
    this.timeout(TESTBED_START_TIMEOUT_MS);
    testbed = await useTestbed();
    await installSiteCrd(testbed.kubeConfig());
    dir = mkdtempSync(path.join(tmpdir(), 'operator-lease-deadline-'));
  });

  after(async () => {
    await Promise.all(programs.map((p) => p.kill()));
    await proxy?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function start(who: string, kubeconfig: string, port: number): NodeProcess {
    const program = spawnNode(path.resolve('apps/operator/src/main.ts'), {
      ...TIMINGS,
      KUBECONFIG: kubeconfig,
      WATCH_NAMESPACE: namespace.name,
      LEASE_NAME: LEASE,
      LEASE_NAMESPACE: namespace.name,
      POD_NAME: who,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      LOG_LEVEL: 'info',
      DATABASE_URL: '',
    });
    let partial = '';
    program.child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines.filter((l) => l.startsWith('{'))) {
        const entry = JSON.parse(line) as { msg?: string; by?: unknown };
        timeline.push({ who, what: entry.msg ?? '', by: entry.by });
      }
    });
    void program.exited.then(() => timeline.push({ who, what: 'exited' }));
    programs.push(program);
    return program;
  }

  const position = (who: string, what: string) =>
    timeline.findIndex((h) => h.who === who && h.what === what);

  it('when every request of the leader hangs, then each Lease call is aborted, and the leader stops leading and exits before the standby takes over', async function () {
    this.timeout(180_000);
    const api = new URL(testbed.server);
    proxy = await startStallingProxy({
      target: { host: api.hostname, port: Number(api.port) },
      onClientCloseWhileStalled: () => timeline.push({ who: 'proxy', what: 'closed by a' }),
    });
    const viaProxy = kubeconfigVia(
      testbed,
      `https://127.0.0.1:${proxy.port}`,
      path.join(dir, 'kubeconfig-via-proxy'),
    );
    const [portA, portB] = await freePorts(2);
    const a = start('a', viaProxy, portA!);
    await a.waitForOutput(/"msg":"leading"/, 'a leading');
    const b = start('b', testbed.kubeconfigPath, portB!);
    await b.waitForOutput(/"msg":"operator started"/, 'b started');
    assert.equal(position('b', 'leading'), -1, 'the standby does not lead while a renews');

    proxy.stall();
    timeline.push({ who: 'test', what: 'stalled' });
    assert.equal(await a.exited, 1, a.output());
    // Read directly: the Lease still names a, so a gave up before anyone could take it over.
    const coordination = makeClients(testbed.kubeConfig()).coordination;
    const read = () => coordination.readNamespacedLease({ name: LEASE, namespace: namespace.name });
    const atExit = await read();
    await b.waitForOutput(/"msg":"leading"/, 'b leading');
    const transitionsWhenTaken = await eventually('the Lease held by b', async () => {
      const spec = (await read()).spec;
      return spec?.holderIdentity === 'b' ? (spec.leaseTransitions ?? 0) : undefined;
    });

    const stalled = position('test', 'stalled');
    const lost = position(
      'a',
      'could not renew the lease within the renew deadline; stopping leading',
    );
    const notLeading = position('a', 'not leading');
    const exited = position('a', 'exited');
    const standbyLeads = position('b', 'leading');
    const aborted = timeline
      .map((h, i) => ({ ...h, i }))
      .filter((h) => h.who === 'a' && h.what === 'lease request aborted');
    // Only while a runs: its exit closes every connection anyway.
    const closedOnTheWire = timeline
      .map((h, i) => ({ ...h, i }))
      .filter((h) => h.what === 'closed by a' && h.i < exited);
    // On failure: the order seen, and a's own log as it wrote it.
    const order = [
      JSON.stringify(timeline.filter((h) => h.who !== 'b' || h.what === 'leading')),
      ...a.logLines().map((l) => `${String(l.time)} ${String(l.msg)}`),
    ].join('\n');

    // A request that got no answer ended at its own deadline while a still led, then the renew
    // deadline ended leading. The aborts reach the wire: a closes connections the stalled proxy
    // never answered, rather than leaving them hanging.
    const byDeadline = aborted.filter((h) => h.by === 'deadline');
    assert.ok(byDeadline.length >= 1, order);
    assert.ok(
      byDeadline.every((h) => h.i > stalled && h.i < notLeading),
      order,
    );
    assert.ok(closedOnTheWire.length >= 1, order);
    // a stopped leading and its controller, then exited; only then did b lead.
    assert.ok(stalled < lost && lost < exited, order);
    assert.ok(stalled < notLeading && notLeading < exited, order);
    const controllerStopped = position('a', 'controller stopped');
    assert.ok(stalled < controllerStopped && controllerStopped < exited, order);
    assert.ok(exited < standbyLeads, order);
    assert.equal(atExit.spec?.holderIdentity, 'a');
    assert.equal(transitionsWhenTaken, (atExit.spec.leaseTransitions ?? 0) + 1);
    assert.match(a.output(), /lost the leader lease; exiting so a restart campaigns again/);
  });
});
