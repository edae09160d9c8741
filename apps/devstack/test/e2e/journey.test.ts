// The user's journey on a real node (`make e2e`): `helm install` of the chart with its hooks,
// every pod Ready through its own probes, the operator's simulators publishing, the processor
// storing, the API reached through `kubectl port-forward`, `helm test`, and the pods' security
// settings holding for real. Kafka and PostgreSQL are real servers the test starts inside the
// node's network namespace (Redpanda's and PostgreSQL's images cannot be pulled here).
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startKafkaBroker, type KafkaBroker } from '../../src/kafka-broker.ts';
import { NODE_NETWORK } from '../../src/node/layout.ts';
import { REPO_ROOT } from '../../src/paths.ts';
import { waitFor } from '../../src/ports.ts';
import { startPostgresServer, type PostgresServer } from '../../src/postgres-server.ts';
import {
  failureReport,
  nodeTools,
  portForward,
  type NodeTools,
  type PortForward,
} from './support.ts';

const NAMESPACE = 'telemetrypulse';
const RELEASE = 'telemetrypulse';
const SITES = ['site-01', 'site-02', 'site-03'];
const DEVICES_PER_SITE = 15; // the chart's default Sites: 5 zones x 3 devices
const KAFKA_PORT = 9092;
const POSTGRES_PORT = 5432;

interface PodList {
  items: {
    metadata: { name: string; labels?: Record<string, string> };
    spec: {
      securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
      containers: {
        name: string;
        securityContext?: { readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean };
        volumeMounts?: { mountPath: string }[];
      }[];
    };
    status?: { phase?: string };
  }[];
}

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

describe('the user journey on a real node', function () {
  let tools: NodeTools;
  let dataDir: string;
  let kafka: KafkaBroker | undefined;
  let database: PostgresServer | undefined;
  let api: PortForward | undefined;

  before(async function () {
    tools = await nodeTools();
    dataDir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-e2e-'));
    chmodSync(dataDir, 0o755); // PostgreSQL runs as its own user and makes its folder in here
    const started = Date.now();
    // On the node's address, inside its namespace: reachable by pods and by this test only.
    [kafka, database] = await Promise.all([
      startKafkaBroker({
        dir: path.join(dataDir, 'kafka'),
        host: NODE_NETWORK.nodeIp,
        port: KAFKA_PORT,
        controllerPort: KAFKA_PORT + 1,
        netns: NODE_NETWORK.netns,
      }),
      startPostgresServer({
        dataDir: path.join(dataDir, 'postgres'),
        host: NODE_NETWORK.nodeIp,
        port: POSTGRES_PORT,
        netns: NODE_NETWORK.netns,
        allowFrom: [NODE_NETWORK.podCidr, `${NODE_NETWORK.hostIp}/32`],
      }),
    ]);
    console.log(`    Kafka ${kafka.brokers} and PostgreSQL up in ${seconds(started)}`);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      console.log(await failureReport(tools, NAMESPACE));
    }
  });

  after(async function () {
    api?.stop();
    await tools
      .helm(['uninstall', RELEASE, '-n', NAMESPACE, '--wait', '--timeout', '3m'])
      .catch(() => undefined);
    await kafka?.stop();
    await database?.stop();
    if (dataDir && !process.env.KEEP_CLUSTER) rmSync(dataDir, { recursive: true, force: true });
  });

  it('when the chart is installed with its hooks, then every pod becomes Ready', async function () {
    const values = path.join(dataDir, 'values.yaml');
    writeFileSync(
      values,
      JSON.stringify({
        // `make images` names the images under localhost/, which containerd takes as it is.
        imageRegistry: 'localhost',
        redpanda: { enabled: false },
        postgresql: { enabled: false },
        kafka: { brokers: kafka?.brokers },
        database: { url: database?.url },
        // No KEDA on this node yet: one processor replica.
        processor: { autoscaling: { mode: 'fixed' } },
      }),
    );
    const started = Date.now();
    await tools.helm(
      [
        'install',
        RELEASE,
        path.join(REPO_ROOT, 'charts', 'telemetrypulse'),
        '-n',
        NAMESPACE,
        '--create-namespace',
        '-f',
        values,
        '--wait',
        '--timeout',
        '10m',
      ],
      { timeoutMs: 11 * 60_000 },
    );
    console.log(
      `    helm install --wait (migration Job, every Deployment Ready): ${seconds(started)}`,
    );
    const deployments = JSON.parse(
      await tools.kubectl(['-n', NAMESPACE, 'get', 'deployments', '-o', 'json']),
    ) as { items: { metadata: { name: string }; status?: { readyReplicas?: number } }[] };
    for (const name of ['api', 'processor', 'operator']) {
      const found = deployments.items.find((d) => d.metadata.name === `${RELEASE}-${name}`);
      assert.ok(found, `Deployment ${RELEASE}-${name} exists`);
      assert.ok((found.status?.readyReplicas ?? 0) >= 1, `${name} has a Ready pod`);
    }
  });

  it('when the operator runs, then each Site gets a simulator whose pod is Ready', async function () {
    const started = Date.now();
    await waitFor(
      'a Ready simulator Deployment per Site',
      async () => {
        const list = JSON.parse(
          await tools.kubectl(['-n', NAMESPACE, 'get', 'deployments', '-o', 'json']),
        ) as { items: { metadata: { name: string }; status?: { readyReplicas?: number } }[] };
        return SITES.every((site) =>
          list.items.some(
            (d) => d.metadata.name === `sim-${site}` && (d.status?.readyReplicas ?? 0) >= 1,
          ),
        );
      },
      5 * 60_000,
      2000,
    );
    console.log(`    simulators Ready: ${seconds(started)}`);
  });

  it('when the API is port-forwarded, then /kpis/live lists every Site and /api/v1/sites their devices', async function () {
    api = await portForward(tools, NAMESPACE, `svc/${RELEASE}-api`, 8000);
    const started = Date.now();
    await waitFor(
      'every Site in /kpis/live',
      async () => {
        const rows = (await (await fetch(`${api?.url}/kpis/live`)).json()) as {
          site_id: string;
        }[];
        return SITES.every((site) => rows.some((r) => r.site_id === site));
      },
      5 * 60_000,
      2000,
    );
    console.log(`    every Site in /kpis/live: ${seconds(started)}`);
    await waitFor(
      'every device of every Site in /api/v1/sites',
      async () => {
        const sites = (await (await fetch(`${api?.url}/api/v1/sites`)).json()) as {
          site_id: string;
          device_count: number;
        }[];
        return SITES.every((site) =>
          sites.some((s) => s.site_id === site && s.device_count === DEVICES_PER_SITE),
        );
      },
      3 * 60_000,
      2000,
    );
    const sites = (await (await fetch(`${api.url}/api/v1/sites`)).json()) as {
      site_id: string;
      device_count: number;
    }[];
    for (const site of SITES) {
      assert.equal(sites.find((s) => s.site_id === site)?.device_count, DEVICES_PER_SITE, site);
    }
  });

  it('when helm test runs, then it passes', async function () {
    const started = Date.now();
    const output = await tools.helm(['test', RELEASE, '-n', NAMESPACE, '--timeout', '5m'], {
      timeoutMs: 6 * 60_000,
    });
    console.log(`    helm test: ${seconds(started)}`);
    assert.match(output, /Phase:\s+Succeeded/);
  });

  it('when a container runs, then it is not root and cannot write outside its declared volumes', async function () {
    const pods = JSON.parse(
      await tools.kubectl(['-n', NAMESPACE, 'get', 'pods', '-o', 'json']),
    ) as PodList;
    const running = pods.items.filter((p) => p.status?.phase === 'Running');
    assert.ok(running.length >= 3 + SITES.length, 'the apps and simulators run');
    for (const pod of running) {
      for (const container of pod.spec.containers) {
        const where = `${pod.metadata.name}/${container.name}`;
        assert.equal(container.securityContext?.readOnlyRootFilesystem, true, where);
        const out = await tools.kubectl([
          '-n',
          NAMESPACE,
          'exec',
          pod.metadata.name,
          '-c',
          container.name,
          '--',
          'node',
          '-e',
          `const fs = require('node:fs');
           let root = 'writable';
           try { fs.writeFileSync('/app/probe', 'x'); } catch (e) { root = e.code; }
           console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), root }));`,
        ]);
        const seen = JSON.parse(out.trim()) as { uid: number; gid: number; root: string };
        assert.notEqual(seen.uid, 0, `${where} runs as root`);
        assert.equal(seen.root, 'EROFS', `${where}: the root filesystem is read-only`);
      }
    }
  });
});
