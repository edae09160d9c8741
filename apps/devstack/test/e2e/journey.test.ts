// The user's journey on a real node (`make e2e`): `helm install` of the chart with its hooks,
// every pod Ready through its own probes, the operator's simulators publishing, the processor
// storing, the API reached through `kubectl port-forward`, `helm test`, and the pods' security
// settings holding for real. Kafka and PostgreSQL are the real servers `make cluster` runs on the
// node's address (Redpanda's and PostgreSQL's images cannot be pulled here).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import postgres, { type Sql } from 'postgres';
import { parse } from 'yaml';
import { readNodeStatus } from '../../src/node/status.ts';
import { REPO_ROOT } from '../../src/paths.ts';
import { windowMismatches } from '../../src/test/index.ts';
import { waitFor } from '../../src/ports.ts';
import {
  CHART,
  failureReport,
  installChart,
  nodeTools,
  portForward,
  publishKnownEvents,
  startLoad,
  startProbePod,
  type LoadResult,
  storedCounts,
  uninstallChart,
  type NodeTools,
  type PortForward,
} from './support.ts';

const NAMESPACE = 'telemetrypulse';
const EVENTS_TOPIC = 'e2e.telemetry.events';
const RELEASE = 'telemetrypulse';
const SITES = ['site-01', 'site-02', 'site-03'];
const DEVICES_PER_SITE = 15; // the chart's default Sites: 5 zones x 3 devices
const LOAD_PER_SECOND = 10;

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
  let node: { kafkaBrokers: string; databaseUrl: string };
  let sql: Sql;
  let uninstalled = false;

  const deploymentNames = async () =>
    (
      JSON.parse(await tools.kubectl(['-n', NAMESPACE, 'get', 'deployments', '-o', 'json'])) as {
        items: { metadata: { name: string } }[];
      }
    ).items.map((d) => d.metadata.name);

  const podNames = async (component: string) =>
    (
      JSON.parse(
        await tools.kubectl([
          '-n',
          NAMESPACE,
          'get',
          'pods',
          '-l',
          `app.kubernetes.io/component=${component}`,
          '--field-selector=status.phase=Running',
          '-o',
          'json',
        ]),
      ) as { items: { metadata: { name: string; deletionTimestamp?: string } }[] }
    ).items
      .filter((p) => !p.metadata.deletionTimestamp)
      .map((p) => p.metadata.name);

  /** Waits until none of `old` API pods exists any more (drained and gone), all replaced. */
  const apiPodsReplaced = async (old: string[]) => {
    await waitFor(
      'the old API pods to drain and go',
      async () => {
        const all = JSON.parse(
          await tools.kubectl([
            '-n',
            NAMESPACE,
            'get',
            'pods',
            '-l',
            'app.kubernetes.io/component=api',
            '-o',
            'json',
          ]),
        ) as { items: { metadata: { name: string } }[] };
        const names = all.items.map((p) => p.metadata.name);
        return names.length > 0 && names.every((name) => !old.includes(name));
      },
      5 * 60_000,
      1000,
    );
  };

  const deploymentEnv = async (deployment: string, name: string) => {
    const found = JSON.parse(
      await tools.kubectl(['-n', NAMESPACE, 'get', 'deployment', deployment, '-o', 'json']),
    ) as {
      spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } };
    };
    return found.spec.template.spec.containers[0]?.env?.find((e) => e.name === name)?.value;
  };

  const setSitesPaused = async (paused: boolean) => {
    for (const site of SITES) {
      await tools.kubectl([
        '-n',
        NAMESPACE,
        'patch',
        'site',
        site,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { paused } }),
      ]);
    }
    await waitFor(
      `the simulators to be ${paused ? 'stopped' : 'running'}`,
      async () => {
        const pods = await podNames('simulator');
        return paused ? pods.length === 0 : pods.length === SITES.length;
      },
      3 * 60_000,
      1000,
    );
  };

  const expectStoredOnce = async (ids: string[]) => {
    await waitFor(
      `all ${ids.length} known events to be stored`,
      async () => [...(await storedCounts(sql, ids)).values()].every((n) => n > 0),
      5 * 60_000,
      1000,
    );
    const counts = await storedCounts(sql, ids);
    const notOnce = [...counts].filter(([, n]) => n !== 1);
    assert.deepEqual(notOnce, [], 'each known event is stored exactly once');
  };

  before(async function () {
    tools = await nodeTools();
    const status = readNodeStatus();
    assert.ok(status?.kafkaBrokers && status.databaseUrl, 'make cluster runs Kafka and PostgreSQL');
    node = { kafkaBrokers: status.kafkaBrokers, databaseUrl: status.databaseUrl };
    sql = postgres(node.databaseUrl, { max: 2, onnotice: () => undefined });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') {
      console.log(await failureReport(tools, NAMESPACE));
    }
  });

  after(async function () {
    api?.stop();
    await sql.end();
    if (!uninstalled) {
      await uninstallChart(tools, RELEASE, NAMESPACE);
    }
  });

  it('when the chart is installed with its hooks, then every pod becomes Ready', async function () {
    const started = Date.now();
    // What a user installs with on this node (k8s/README.md): external Kafka and PostgreSQL on the
    // node's address, images under localhost/, no KEDA. A renamed events topic must reach every
    // app, the operator's simulators included.
    await installChart(tools, RELEASE, NAMESPACE, ['--set', `kafka.topics.events=${EVENTS_TOPIC}`]);
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

  it('when a Site is applied, then its simulator runs and its data reaches the API; when it is deleted, its Deployment goes', async function () {
    const started = Date.now();
    await tools.kubectl([
      '-n',
      NAMESPACE,
      'apply',
      '-f',
      path.join(REPO_ROOT, 'k8s/kind/site-lab.yaml'),
    ]);
    await waitFor(
      'site-lab in /api/v1/sites with its 6 devices',
      async () => {
        const sites = (await (await fetch(`${api?.url}/api/v1/sites`)).json()) as {
          site_id: string;
          device_count: number;
        }[];
        return sites.some((s) => s.site_id === 'site-lab' && s.device_count === 6);
      },
      3 * 60_000,
      2000,
    );
    console.log(`    new Site's data in the API: ${seconds(started)}`);
    await tools.kubectl(['-n', NAMESPACE, 'delete', 'site', 'site-lab', '--wait']);
    await waitFor(
      'sim-site-lab to be deleted with its Site',
      async () => !(await deploymentNames()).includes('sim-site-lab'),
      60_000,
      1000,
    );
  });

  it('when the processor pod is deleted while events flow, then every event is stored once and every aggregate equals its raw events', async function () {
    const known = publishKnownEvents(node.kafkaBrokers, EVENTS_TOPIC, 'site-chaos', 30, 100, 200);
    await waitFor(
      'the first known events to be stored',
      async () => {
        const counts = await storedCounts(sql, known.ids.slice(0, 100));
        return [...counts.values()].some((n) => n > 0);
      },
      60_000,
      500,
    );
    const [victim] = await podNames('processor');
    assert.ok(victim, 'a processor pod runs');
    // As a crash would: no graceful stop, so the batches it had taken are delivered again.
    await tools.kubectl(['-n', NAMESPACE, 'delete', 'pod', victim, '--grace-period=0', '--force']);
    await known.done;
    const started = Date.now();
    await tools.kubectl(
      ['-n', NAMESPACE, 'rollout', 'status', `deployment/${RELEASE}-processor`, '--timeout=5m'],
      { timeoutMs: 6 * 60_000 },
    );
    await expectStoredOnce(known.ids);
    console.log(
      `    ${known.ids.length} known events stored once, ${seconds(started)} after the last was published`,
    );
    const replacements = await podNames('processor');
    assert.ok(
      replacements.length > 0 && !replacements.includes(victim),
      'a new processor pod runs',
    );
    // Pause the Sites so nothing flows, let the processor drain, then compare every window.
    await setSitesPaused(true);
    let last = -1;
    await waitFor(
      'the raw table to stop growing',
      async () => {
        const [row] = await sql<{ n: number }[]>`select count(*)::int as n from telemetry_events`;
        const same = row?.n === last;
        last = row?.n ?? -1;
        return same;
      },
      3 * 60_000,
      5000,
    );
    assert.deepEqual(await windowMismatches({ sql }), []);
    await setSitesPaused(false);
  });

  it('when an API pod is deleted, then the Service answers again once its replacement is Ready', async function () {
    const [victim] = await podNames('api');
    assert.ok(victim, 'an API pod runs');
    await tools.kubectl(['-n', NAMESPACE, 'delete', 'pod', victim, '--wait=false']);
    await tools.kubectl(
      ['-n', NAMESPACE, 'rollout', 'status', `deployment/${RELEASE}-api`, '--timeout=5m'],
      { timeoutMs: 6 * 60_000 },
    );
    // From inside the cluster, through the Service's name: every answer comes from a Ready pod.
    // The client is labelled as the chart's test pod, the one in-release client the API's
    // NetworkPolicy admits (besides the ingress controller and Prometheus).
    const client = 'api-client';
    await startProbePod(tools, NAMESPACE, client, {
      'app.kubernetes.io/name': 'telemetrypulse',
      'app.kubernetes.io/instance': RELEASE,
      'app.kubernetes.io/component': 'test',
    });
    const out = await tools.kubectl([
      '-n',
      NAMESPACE,
      'exec',
      client,
      '--',
      'node',
      '--input-type=module',
      '-e',
      `const codes = [];
       for (let i = 0; i < 20; i++) codes.push((await fetch('http://${RELEASE}-api:8000/health/ready')).status);
       console.log(JSON.stringify(codes));`,
    ]);
    assert.deepEqual(JSON.parse(out.trim()), Array(20).fill(200));
    await tools.kubectl(['-n', NAMESPACE, 'delete', 'pod', client, '--wait=false']);
  });

  it('when helm upgrade changes a value, then the Deployments roll without losing an event or an API request, and helm rollback restores it', async function () {
    const before = await podNames('processor');
    const apiBefore = await podNames('api');
    // A client inside the cluster sends to the API Service's ClusterIP throughout, at half the
    // API's default per-IP limit (1,200 a minute), labelled as the one in-release client the
    // API's NetworkPolicy admits.
    const client = 'api-load';
    await startProbePod(tools, NAMESPACE, client, {
      'app.kubernetes.io/name': 'telemetrypulse',
      'app.kubernetes.io/instance': RELEASE,
      'app.kubernetes.io/component': 'test',
    });
    const clusterIp = (
      await tools.kubectl([
        '-n',
        NAMESPACE,
        'get',
        'service',
        `${RELEASE}-api`,
        '-o',
        'jsonpath={.spec.clusterIP}',
      ])
    ).trim();
    const load = await startLoad(
      tools,
      NAMESPACE,
      client,
      `http://${clusterIp}:8000/api/v1/sites`,
      LOAD_PER_SECOND,
    );
    let seen: LoadResult | undefined;
    try {
      const known = publishKnownEvents(
        node.kafkaBrokers,
        EVENTS_TOPIC,
        'site-upgrade',
        30,
        100,
        300,
      );
      const started = Date.now();
      await tools.helm(
        [
          'upgrade',
          RELEASE,
          CHART,
          '-n',
          NAMESPACE,
          '--reuse-values',
          '--set',
          'logLevel=debug',
          '--wait',
          '--timeout',
          '10m',
        ],
        { timeoutMs: 11 * 60_000 },
      );
      console.log(`    helm upgrade --wait: ${seconds(started)}`);
      // helm --wait returns once the new pods are Ready; the old ones are still draining.
      await apiPodsReplaced(apiBefore);
      const upgraded = await podNames('api');
      await known.done;
      await expectStoredOnce(known.ids);
      const after = await podNames('processor');
      assert.ok(
        after.every((name) => !before.includes(name)),
        'the processor pods were replaced',
      );
      assert.equal(await deploymentEnv(`${RELEASE}-processor`, 'LOG_LEVEL'), 'debug');

      const rolledBack = Date.now();
      await tools.helm(['rollback', RELEASE, '1', '-n', NAMESPACE, '--wait', '--timeout', '10m'], {
        timeoutMs: 11 * 60_000,
      });
      await apiPodsReplaced(upgraded);
      console.log(`    helm rollback --wait and the old API pods gone: ${seconds(rolledBack)}`);
      seen = await load.stop();
    } finally {
      // Stops the client if a step above failed (the exec would keep mocha running).
      if (!seen) await load.stop().catch(() => undefined);
      await tools.kubectl(['-n', NAMESPACE, 'delete', 'pod', client, '--wait=false']);
    }
    console.log(
      `    ${seen.sent} requests to the API's ClusterIP in ${(seen.durationMs / 1000).toFixed(1)} s ` +
        `(${LOAD_PER_SECOND}/s) through both rollouts: ${seen.ok} answered 200, ` +
        `${seen.failures.length} failed`,
    );
    assert.deepEqual(seen.failures, [], 'no request failed while the API pods were replaced');
    assert.equal(seen.ok, seen.sent);
    assert.equal(await deploymentEnv(`${RELEASE}-processor`, 'LOG_LEVEL'), 'info');
    const history = JSON.parse(
      await tools.helm(['history', RELEASE, '-n', NAMESPACE, '-o', 'json']),
    ) as { revision: number; status: string; description: string }[];
    assert.equal(history.at(-1)?.status, 'deployed');
    assert.match(history.at(-1)?.description ?? '', /Rollback to 1/);
  });

  it("when an older Site CRD is in the cluster, then the documented upgrade command puts the chart's in place and keeps every Site", async function () {
    type Crd = {
      metadata: Record<string, unknown>;
      spec: {
        versions: {
          name: string;
          additionalPrinterColumns?: { name: string }[];
          schema: { openAPIV3Schema: { properties: { spec: { properties: object } } } };
        }[];
      };
    };
    const chartCrd = parse(readFileSync(path.join(CHART, 'crds', 'site.yaml'), 'utf8')) as Crd;
    const sitesNow = async () =>
      (
        JSON.parse(await tools.kubectl(['-n', NAMESPACE, 'get', 'sites', '-o', 'json'])) as {
          items: { metadata: { name: string; uid: string }; spec: unknown }[];
        }
      ).items.map((site) => [site.metadata.name, site.metadata.uid, site.spec]);
    const versionsNow = async () =>
      (
        JSON.parse(
          await tools.kubectl(['get', 'crd', 'sites.telemetrypulse.io', '-o', 'json']),
        ) as Crd
      ).spec.versions.map((v) => ({
        name: v.name,
        columns: v.additionalPrinterColumns,
        schema: v.schema,
      }));
    const sites = await sitesNow();
    assert.equal(sites.length, SITES.length);

    // An older chart's CRD: one printer column and one optional field fewer.
    const older = structuredClone(chartCrd);
    for (const version of older.spec.versions) {
      version.additionalPrinterColumns = version.additionalPrinterColumns?.filter(
        (c) => c.name !== 'Paused',
      );
      delete (version.schema.openAPIV3Schema.properties.spec.properties as Record<string, unknown>)
        .zoneNames;
    }
    // A replace of a CRD must name the version it replaces.
    older.metadata.resourceVersion = (
      await tools.kubectl([
        'get',
        'crd',
        'sites.telemetrypulse.io',
        '-o',
        'jsonpath={.metadata.resourceVersion}',
      ])
    ).trim();
    await tools.kubectl(['replace', '-f', '-'], { input: JSON.stringify(older) });
    const downgraded = await versionsNow();
    assert.ok(
      !downgraded[0]?.columns?.some((c) => c.name === 'Paused'),
      'the older CRD is in place',
    );

    // docs/deploy.md, "Upgrades": helm show crds <chart> | kubectl apply --server-side --force-conflicts -f -
    const crds = await tools.helm(['show', 'crds', CHART]);
    await tools.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
      input: crds,
    });

    assert.deepEqual(
      await versionsNow(),
      chartCrd.spec.versions.map((v) => ({
        name: v.name,
        columns: v.additionalPrinterColumns,
        schema: v.schema,
      })),
      "the cluster's CRD is the chart's",
    );
    assert.deepEqual(await sitesNow(), sites, 'every Site is kept as it was');
  });

  it('when the release is uninstalled, then no pod, Service or Job of it is left', async function () {
    await tools.helm(['uninstall', RELEASE, '-n', NAMESPACE, '--wait', '--timeout', '5m'], {
      timeoutMs: 6 * 60_000,
    });
    uninstalled = true;
    await waitFor(
      'every pod, Service and Job of the release to go',
      async () => {
        const left = JSON.parse(
          await tools.kubectl(['-n', NAMESPACE, 'get', 'pods,services,jobs', '-o', 'json']),
        ) as { items: unknown[] };
        return left.items.length === 0;
      },
      3 * 60_000,
      2000,
    );
  });
});
