// The chart's NetworkPolicies on a real node that enforces them (kube-router's firewall, started
// by `make cluster`): a release installed with k8s/node/values.yaml runs (every pod Ready, a
// Site's events reach the API), and the paths the policies leave out are refused, each next to
// an allowed path from the same pod so a refusal is the policy's and not a broken network.
// Kafka, PostgreSQL, CoreDNS and the API server are on the node's address (see journey.test.ts).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { NODE_NETWORK } from '../../src/node/layout.ts';
import { waitFor } from '../../src/ports.ts';
import {
  failureReport,
  installChart,
  nodeTools,
  podIp,
  portForward,
  startProbePod,
  tryConnections,
  uninstallChart,
  type NodeTools,
  type Target,
} from './support.ts';

const NAMESPACE = 'telemetrypulse-netpol';
const RELEASE = 'netpol';
const NODE = NODE_NETWORK.nodeIp;
const KAFKA: Target = [NODE, NODE_NETWORK.kafkaPort];
const POSTGRESQL: Target = [NODE, NODE_NETWORK.postgresPort];
const API_SERVER: Target = [NODE, NODE_NETWORK.apiPort];
const RELEASE_LABELS = {
  'app.kubernetes.io/name': 'telemetrypulse',
  'app.kubernetes.io/instance': RELEASE,
};

describe('NetworkPolicies on a real node that enforces them', function () {
  let tools: NodeTools;
  /** Pod addresses and ports of the release's components. */
  let api: Target;
  let processorMetrics: Target;
  let operatorMetrics: Target;
  /**
   * A listener on the machine's end of the node's veth pair: an address outside every policy of
   * the chart, that answers whoever may reach it.
   */
  let outside: Target;
  let outsideServer: Server;

  const podOf = async (component: string) => {
    const name = await tools.kubectl([
      '-n',
      NAMESPACE,
      'get',
      'pods',
      '-l',
      `app.kubernetes.io/component=${component}`,
      '--field-selector=status.phase=Running',
      '-o',
      'jsonpath={.items[0].metadata.name}',
    ]);
    assert.ok(name.trim(), `a ${component} pod runs`);
    return name.trim();
  };

  before(async function () {
    tools = await nodeTools();
    outsideServer = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      outsideServer.once('error', reject);
      outsideServer.listen(0, NODE_NETWORK.hostIp, resolve);
    });
    const address = outsideServer.address();
    assert.ok(address && typeof address === 'object');
    outside = [NODE_NETWORK.hostIp, address.port];
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      console.log(await failureReport(tools, NAMESPACE));
    }
  });

  after(async function () {
    outsideServer.close();
    await uninstallChart(tools, RELEASE, NAMESPACE, { deleteNamespace: true });
  });

  it('when the chart is installed with its policies, then every pod becomes Ready and a Site’s events reach the API', async function () {
    await installChart(tools, RELEASE, NAMESPACE, [
      // Its own topic and group, one small Site: nothing shared with the journey's release.
      '--set',
      'kafka.topics.events=e2e.netpol.events',
      '--set',
      'kafka.consumerGroup=e2e-netpol',
      '--set-json',
      'sites={"site-02":null,"site-03":null}',
      '--set',
      'api.replicaCount=1',
    ]);
    const policies = await tools.kubectl([
      '-n',
      NAMESPACE,
      'get',
      'networkpolicies',
      '-o',
      'jsonpath={.items[*].metadata.name}',
    ]);
    assert.match(policies, /netpol-telemetrypulse-api/);
    assert.match(policies, /netpol-telemetrypulse-simulators/);
    const forward = await portForward(tools, NAMESPACE, `svc/${RELEASE}-telemetrypulse-api`, 8000);
    try {
      await waitFor(
        'site-01 in /kpis/live',
        async () => {
          const rows = (await (await fetch(`${forward.url}/kpis/live`)).json()) as {
            site_id: string;
          }[];
          return rows.some((r) => r.site_id === 'site-01');
        },
        5 * 60_000,
        2000,
      );
    } finally {
      forward.stop();
    }
    api = [await podIp(tools, NAMESPACE, await podOf('api')), 8000];
    processorMetrics = [await podIp(tools, NAMESPACE, await podOf('processor')), 9464];
    operatorMetrics = [await podIp(tools, NAMESPACE, await podOf('operator')), 9480];
  });

  it('when a pod is labelled like a simulator, then it reaches Kafka and nothing else: not PostgreSQL, the API, the API server or an outside address', async function () {
    await startProbePod(tools, NAMESPACE, 'probe-simulator', {
      'app.kubernetes.io/name': 'simulator',
      'app.kubernetes.io/instance': 'site-probe',
      'app.kubernetes.io/component': 'simulator',
      'app.kubernetes.io/managed-by': 'telemetrypulse-operator',
    });
    const [kafka, ...refused] = await tryConnections(tools, NAMESPACE, 'probe-simulator', [
      KAFKA,
      POSTGRESQL,
      api,
      API_SERVER,
      outside,
    ]);
    assert.equal(kafka, 'connected', 'the allowed path');
    for (const [i, outcome] of refused.entries()) {
      assert.notEqual(outcome, 'connected', `path ${i + 1} is refused`);
    }
  });

  it('when a pod the chart does not know dials the release, then the API and the apps’ metrics refuse it; the chart’s test pod reaches the API', async function () {
    await startProbePod(tools, NAMESPACE, 'probe-stranger', { app: 'stranger' });
    // A stranger is under no policy of its own: its egress is open, so Kafka and the outside
    // listener answer it.
    const [kafka, outsideAnswer, ...refused] = await tryConnections(
      tools,
      NAMESPACE,
      'probe-stranger',
      [KAFKA, outside, api, processorMetrics, operatorMetrics],
    );
    assert.deepEqual([kafka, outsideAnswer], ['connected', 'connected']);
    for (const [i, outcome] of refused.entries()) {
      assert.notEqual(outcome, 'connected', `path ${i + 1} is refused`);
    }
    await startProbePod(tools, NAMESPACE, 'probe-test', {
      ...RELEASE_LABELS,
      'app.kubernetes.io/component': 'test',
    });
    const [toApi, toKafka] = await tryConnections(tools, NAMESPACE, 'probe-test', [api, KAFKA]);
    assert.equal(toApi, 'connected');
    assert.notEqual(toKafka, 'connected', 'the test pod reaches the API only');
  });

  it('when the processor dials what it does not use, then it is refused: the operator, the API server, an outside address', async function () {
    const processor = await podOf('processor');
    const [kafka, database, ...refused] = await tryConnections(
      tools,
      NAMESPACE,
      processor,
      [KAFKA, POSTGRESQL, operatorMetrics, API_SERVER, outside],
      'processor',
    );
    assert.deepEqual([kafka, database], ['connected', 'connected'], 'the paths it uses');
    for (const [i, outcome] of refused.entries()) {
      assert.notEqual(outcome, 'connected', `path ${i + 1} is refused`);
    }
  });

  it('when the operator dials Kafka, which it never uses, then it is refused; the API server and PostgreSQL answer it', async function () {
    const operator = await podOf('operator');
    const [apiServer, database, kafka] = await tryConnections(
      tools,
      NAMESPACE,
      operator,
      [API_SERVER, POSTGRESQL, KAFKA],
      'operator',
    );
    assert.deepEqual([apiServer, database], ['connected', 'connected']);
    assert.notEqual(kafka, 'connected');
  });
});
