// The user's journey on a real node (`make e2e`): `helm install` of the chart with its hooks,
// every pod Ready through its own probes, the operator's simulators publishing, the processor
// storing, the API reached through `kubectl port-forward`, `helm test`, and the pods' security
// settings holding for real. Kafka and PostgreSQL are the real servers `make cluster` runs on the
// node's address (Redpanda's and PostgreSQL's images cannot be pulled here).
import assert from 'node:assert/strict';
import path from 'node:path';
import { REPO_ROOT } from '../../src/paths.ts';
import { waitFor } from '../../src/ports.ts';
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
  let api: PortForward | undefined;

  before(async function () {
    tools = await nodeTools();
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
  });

  it('when the chart is installed with its hooks, then every pod becomes Ready', async function () {
    const started = Date.now();
    await tools.helm(
      [
        'install',
        RELEASE,
        path.join(REPO_ROOT, 'charts', 'telemetrypulse'),
        '-n',
        NAMESPACE,
        '--create-namespace',
        // What a user installs with on this node (k8s/README.md): external Kafka and PostgreSQL
        // on the node's address, images under localhost/, no KEDA.
        '-f',
        path.join(REPO_ROOT, 'k8s', 'node', 'values.yaml'),
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
