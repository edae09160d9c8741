// The chart with the real helm binary: lint and render over the values matrix in
// charts/telemetrypulse/ci/, check what each setting turns into, and check that wrong values are
// refused with a message naming them.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { PROCESSOR_GROUP, TOPICS, topicSpecs } from '@telemetrypulse/shared';
import {
  findObject,
  helmLint,
  helmTemplate,
  renderChart,
  type KubeObject,
} from '../../../src/chart/render.ts';
import {
  CHART_DIR,
  readValuesSchema,
  siteSpecValuesSchema,
} from '../../../src/chart/values-schema.ts';
import { ensureHelm } from '../../../src/tools/helm.ts';

const MATRIX_DIR = path.join(CHART_DIR, 'ci');
const KEDA_API = 'keda.sh/v1alpha1/ScaledObject';
const MIGRATE_COMMAND = ['node', 'apps/shared/src/bin/migrate.ts'];

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string } };
  }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  livenessProbe?: unknown;
  readinessProbe?: unknown;
  startupProbe?: unknown;
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: Record<string, unknown>;
  serviceAccountName?: string;
}

function podSpec(object: KubeObject): PodSpec | undefined {
  const spec = object.spec as Record<string, unknown> | undefined;
  if (object.kind === 'Pod') return spec as unknown as PodSpec;
  const template = spec?.template as { spec?: PodSpec } | undefined;
  return template?.spec;
}

function envOf(container: Container, name: string) {
  return container.env?.find((e) => e.name === name);
}

function deployment(objects: KubeObject[], component: string): KubeObject {
  return findObject(objects, 'Deployment', `telemetrypulse-${component}`);
}

function mainContainer(object: KubeObject): Container {
  const container = podSpec(object)?.containers[0];
  assert.ok(container, `${object.kind}/${object.metadata.name} has no container`);
  return container;
}

describe('Helm chart: lint and render over the values matrix', function () {
  this.timeout(20 * 60_000);
  let helm: string;
  const matrix = readdirSync(MATRIX_DIR).filter((f) => f.endsWith('.yaml'));

  before(async () => {
    helm = await ensureHelm();
  });

  it('the matrix covers the documented cases', () => {
    for (const name of [
      'default',
      'external-infra',
      'external-url',
      'keda',
      'hpa',
      'fixed',
      'ingress-tls',
      'monitoring',
      'sites',
    ]) {
      assert.ok(matrix.includes(`${name}-values.yaml`), `ci/${name}-values.yaml missing`);
    }
  });

  it('when linted strictly with every values file, then helm reports no problem', async () => {
    for (const file of matrix) {
      const result = await helmLint(helm, { valuesFiles: [path.join(MATRIX_DIR, file)] });
      assert.equal(result.code, 0, `${file}:\n${result.stdout}${result.stderr}`);
    }
  });

  it('when rendered with every values file, then every container is locked down and has resources and probes', async () => {
    for (const file of matrix) {
      const objects = await renderChart(helm, {
        valuesFiles: [path.join(MATRIX_DIR, file)],
        apiVersions: [KEDA_API],
      });
      for (const object of objects) {
        const pod = podSpec(object);
        if (!pod) continue;
        const where = `${file}: ${object.kind}/${object.metadata.name}`;
        assert.equal(pod.securityContext?.runAsNonRoot, true, `${where} runAsNonRoot`);
        assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' }, where);
        for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
          const at = `${where} container ${container.name}`;
          const security = container.securityContext ?? {};
          assert.equal(security.allowPrivilegeEscalation, false, `${at} privilege escalation`);
          assert.equal(security.readOnlyRootFilesystem, true, `${at} read-only root`);
          assert.deepEqual(security.capabilities, { drop: ['ALL'] }, `${at} capabilities`);
          assert.deepEqual(security.seccompProfile, { type: 'RuntimeDefault' }, `${at} seccomp`);
          assert.ok(container.resources?.requests?.memory, `${at} memory request`);
          assert.ok(container.resources.limits?.memory, `${at} memory limit`);
        }
        // Long-running workloads get all three probes; Jobs and test Pods run to completion.
        if (['Deployment', 'StatefulSet'].includes(object.kind)) {
          for (const container of pod.containers) {
            const at = `${where} container ${container.name}`;
            assert.ok(container.livenessProbe, `${at} liveness probe`);
            assert.ok(container.readinessProbe, `${at} readiness probe`);
            if (container.name !== 'console')
              assert.ok(container.startupProbe, `${at} startup probe`);
          }
        }
      }
    }
  });

  it('when rendered with the defaults, then the dev infrastructure, the apps, three Sites and a pre-upgrade migration hook are there', async () => {
    const objects = await renderChart(helm);
    for (const component of ['redpanda', 'postgresql']) {
      const set = findObject(objects, 'StatefulSet', `telemetrypulse-${component}`);
      const claims = (set.spec as { volumeClaimTemplates: unknown[] }).volumeClaimTemplates;
      assert.equal(claims.length, 1, `${component} keeps its data on a volume`);
    }
    const brokers = 'telemetrypulse-redpanda.telemetrypulse.svc.cluster.local:9092';
    for (const component of ['api', 'processor', 'operator']) {
      const container = mainContainer(deployment(objects, component));
      assert.equal(envOf(container, 'KAFKA_BROKERS')?.value, brokers, component);
      assert.deepEqual(
        envOf(container, 'DATABASE_URL')?.valueFrom?.secretKeyRef,
        { name: 'telemetrypulse-postgresql', key: 'DATABASE_URL' },
        component,
      );
      assert.equal(container.image, `telemetrypulse/${component}:0.1.0`, component);
    }
    const operator = mainContainer(deployment(objects, 'operator'));
    assert.equal(envOf(operator, 'SIMULATOR_IMAGE')?.value, 'telemetrypulse/simulator:0.1.0');
    assert.equal(envOf(operator, 'WATCH_NAMESPACE')?.value, 'telemetrypulse');

    // The in-release PostgreSQL appears only after pre-install hooks: pods migrate on install.
    const job = findObject(objects, 'Job', 'telemetrypulse-migrations');
    assert.equal(job.metadata.annotations?.['helm.sh/hook'], 'pre-upgrade');
    assert.deepEqual(mainContainer(job).command, MIGRATE_COMMAND);
    for (const component of ['api', 'processor']) {
      const init = podSpec(deployment(objects, component))?.initContainers ?? [];
      assert.deepEqual(
        init.map((c) => c.command),
        [MIGRATE_COMMAND],
        component,
      );
    }

    const sites = objects.filter((o) => o.kind === 'Site');
    assert.deepEqual(sites.map((s) => s.metadata.name).sort(), ['site-01', 'site-02', 'site-03']);

    // Without KEDA in the cluster, auto means a fixed replica count.
    assert.equal(objects.filter((o) => o.kind === 'ScaledObject').length, 0);
    assert.equal((deployment(objects, 'processor').spec as { replicas?: number }).replicas, 1);

    // An Ingress needs a host name or allowAnyHost: none by default (docs/deploy.md).
    assert.deepEqual(
      objects.filter((o) => o.kind === 'Ingress'),
      [],
    );
    const test = objects.find((o) => o.metadata.annotations?.['helm.sh/hook'] === 'test');
    assert.ok(test, 'a helm test hook');
    assert.match(JSON.stringify(test), /telemetrypulse-api:8000\/readyz/);
  });

  it('when the chart generates the database password or the API key, then helm uninstall keeps their Secrets; Secrets of given values go with the release', async () => {
    const keep = (objects: KubeObject[], name: string) =>
      findObject(objects, 'Secret', name).metadata.annotations?.['helm.sh/resource-policy'];
    const generated = await renderChart(helm);
    assert.equal(keep(generated, 'telemetrypulse-postgresql'), 'keep');
    assert.equal(keep(generated, 'telemetrypulse-api-keys'), 'keep');
    const given = await renderChart(helm, {
      values: {
        postgresql: { auth: { password: 'given-password' } },
        api: { auth: { apiKeys: ['given-key-0123456789'] } },
      },
    });
    assert.equal(keep(given, 'telemetrypulse-postgresql'), undefined);
    assert.equal(keep(given, 'telemetrypulse-api-keys'), undefined);
  });

  it('when the cluster serves KEDA, then auto scales the processor on consumer lag up to the partitions', async () => {
    const objects = await renderChart(helm, { apiVersions: [KEDA_API] });
    const scaled = findObject(objects, 'ScaledObject', 'telemetrypulse-processor');
    const spec = scaled.spec as {
      maxReplicaCount: number;
      minReplicaCount: number;
      scaleTargetRef: { name: string };
      triggers: { type: string; metadata: Record<string, string> }[];
    };
    const eventsPartitions = topicSpecs().find((t) => t.topic === TOPICS.events)?.numPartitions;
    assert.equal(spec.maxReplicaCount, eventsPartitions);
    assert.equal(spec.minReplicaCount, 1);
    assert.equal(spec.scaleTargetRef.name, 'telemetrypulse-processor');
    const trigger = spec.triggers[0];
    assert.equal(trigger?.type, 'kafka');
    assert.deepEqual(trigger.metadata, {
      bootstrapServers: 'telemetrypulse-redpanda.telemetrypulse.svc.cluster.local:9092',
      consumerGroup: PROCESSOR_GROUP,
      topic: TOPICS.events,
      lagThreshold: '1000',
      activationLagThreshold: '10',
      offsetResetPolicy: 'earliest',
      allowIdleConsumers: 'false',
    });
    // The HPA KEDA makes waits as long as Kubernetes' default before it removes replicas.
    assert.deepEqual((scaled.spec as { advanced?: unknown }).advanced, {
      horizontalPodAutoscalerConfig: {
        behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
      },
    });
    // KEDA owns the replica count: the Deployment must not fight it on upgrade.
    assert.equal(
      (deployment(objects, 'processor').spec as { replicas?: number }).replicas,
      undefined,
    );
  });

  it('when KEDA is off, then the processor gets an HPA or fixed replicas', async () => {
    const hpa = await renderChart(helm, {
      valuesFiles: [path.join(MATRIX_DIR, 'hpa-values.yaml')],
      apiVersions: [KEDA_API],
    });
    const autoscaler = findObject(hpa, 'HorizontalPodAutoscaler', 'telemetrypulse-processor');
    assert.deepEqual(
      [
        (autoscaler.spec as { minReplicas: number }).minReplicas,
        (autoscaler.spec as { maxReplicas: number }).maxReplicas,
      ],
      [2, 6],
    );
    assert.deepEqual((autoscaler.spec as { behavior?: unknown }).behavior, {
      scaleDown: { stabilizationWindowSeconds: 300 },
    });
    assert.equal(hpa.filter((o) => o.kind === 'ScaledObject').length, 0);
    const fixed = await renderChart(helm, {
      valuesFiles: [path.join(MATRIX_DIR, 'fixed-values.yaml')],
      apiVersions: [KEDA_API],
    });
    assert.equal((deployment(fixed, 'processor').spec as { replicas: number }).replicas, 3);
    assert.equal(
      fixed.filter((o) => ['ScaledObject', 'HorizontalPodAutoscaler'].includes(o.kind)).length,
      0,
    );
  });

  it('when the infrastructure is external, then no StatefulSet runs and the migration hook runs pre-install with the given credentials', async () => {
    const objects = await renderChart(helm, {
      valuesFiles: [path.join(MATRIX_DIR, 'external-infra-values.yaml')],
    });
    assert.equal(objects.filter((o) => o.kind === 'StatefulSet').length, 0);
    const processor = mainContainer(deployment(objects, 'processor'));
    assert.equal(
      envOf(processor, 'KAFKA_BROKERS')?.value,
      'kafka-0.kafka.data.svc:9092,kafka-1.kafka.data.svc:9092',
    );
    assert.deepEqual(envOf(processor, 'DATABASE_URL')?.valueFrom?.secretKeyRef, {
      name: 'telemetry-database',
      key: 'url',
    });
    assert.equal(podSpec(deployment(objects, 'processor'))?.initContainers, undefined);
    const job = findObject(objects, 'Job', 'telemetrypulse-migrations');
    assert.equal(job.metadata.annotations?.['helm.sh/hook'], 'pre-install,pre-upgrade');
    assert.deepEqual(envOf(mainContainer(job), 'DATABASE_URL')?.valueFrom?.secretKeyRef, {
      name: 'telemetry-database',
      key: 'url',
    });
    const api = mainContainer(deployment(objects, 'api'));
    assert.equal(envOf(api, 'API_KEYS')?.valueFrom?.secretKeyRef?.name, 'telemetry-api-keys');
    assert.equal(objects.filter((o) => o.kind === 'Secret').length, 0, 'the chart makes no Secret');

    // A URL instead of a Secret: the hook Job reads a hook Secret that exists before install.
    const withUrl = await renderChart(helm, {
      valuesFiles: [path.join(MATRIX_DIR, 'external-url-values.yaml')],
    });
    const hookSecret = findObject(withUrl, 'Secret', 'telemetrypulse-migrations');
    assert.equal(hookSecret.metadata.annotations?.['helm.sh/hook-weight'], '-10');
    const url = Buffer.from(
      (hookSecret.data as { DATABASE_URL: string }).DATABASE_URL,
      'base64',
    ).toString();
    assert.equal(url, 'postgres://telemetry:secret@db.example.internal:5432/telemetry');
    const urlJob = findObject(withUrl, 'Job', 'telemetrypulse-migrations');
    assert.deepEqual(envOf(mainContainer(urlJob), 'DATABASE_URL')?.valueFrom?.secretKeyRef, {
      name: 'telemetrypulse-migrations',
      key: 'DATABASE_URL',
    });
    assert.deepEqual(
      envOf(mainContainer(deployment(withUrl, 'api')), 'DATABASE_URL')?.valueFrom?.secretKeyRef,
      {
        name: 'telemetrypulse-database',
        key: 'DATABASE_URL',
      },
    );
  });

  it('when the Ingress has a host and TLS, then both are rendered for the API Service', async () => {
    const objects = await renderChart(helm, {
      valuesFiles: [path.join(MATRIX_DIR, 'ingress-tls-values.yaml')],
    });
    const ingress = findObject(objects, 'Ingress', 'telemetrypulse-api');
    assert.deepEqual(ingress.spec, {
      ingressClassName: 'nginx',
      tls: [{ secretName: 'telemetry-example-tls', hosts: ['telemetry.example.com'] }],
      rules: [
        {
          host: 'telemetry.example.com',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: 'telemetrypulse-api', port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
    });
    assert.equal(
      ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout'],
      '3600',
    );
  });

  it('when monitoring is on, then every app is scraped and the dashboards and rules are loaded', async () => {
    const objects = await renderChart(helm, {
      valuesFiles: [path.join(MATRIX_DIR, 'monitoring-values.yaml')],
    });
    const monitors = objects.filter((o) => ['ServiceMonitor', 'PodMonitor'].includes(o.kind));
    assert.deepEqual(monitors.map((m) => `${m.kind}/${m.metadata.name}`).sort(), [
      'PodMonitor/telemetrypulse-operator',
      'PodMonitor/telemetrypulse-simulators',
      'ServiceMonitor/telemetrypulse-api',
      'ServiceMonitor/telemetrypulse-processor',
    ]);
    for (const monitor of monitors) {
      assert.equal(
        monitor.metadata.labels?.release,
        'kube-prometheus-stack',
        monitor.metadata.name,
      );
    }
    const dashboards = objects.filter(
      (o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1',
    );
    const files = readdirSync(path.join(CHART_DIR, 'files/dashboards')).filter((f) =>
      f.endsWith('.json'),
    );
    assert.equal(dashboards.length, files.length);
    for (const map of dashboards) {
      for (const text of Object.values(map.data as Record<string, string>)) {
        assert.ok(
          (JSON.parse(text) as { title?: string }).title,
          `${map.metadata.name} is a dashboard`,
        );
      }
    }
    const rule = findObject(objects, 'PrometheusRule', 'telemetrypulse-monitoring');
    assert.ok((rule.spec as { groups: unknown[] }).groups.length > 0);
    findObject(objects, 'Deployment', 'telemetrypulse-redpanda-console');
  });

  it('when Sites are given, then each becomes a Site resource with its spec, and NetworkPolicies guard the components', async () => {
    const objects = await renderChart(helm, {
      valuesFiles: [path.join(MATRIX_DIR, 'sites-values.yaml')],
    });
    const sites = Object.fromEntries(
      objects.filter((o) => o.kind === 'Site').map((s) => [s.metadata.name, s.spec]),
    );
    assert.deepEqual(Object.keys(sites).sort(), ['hq', 'lab', 'site-01', 'warehouse']);
    assert.deepEqual(sites.lab, {
      zoneNames: ['cleanroom', 'office'],
      sensors: ['co2', 'temperature'],
      thresholds: {
        co2: 900,
        temperature: { threshold: 27, clear: 25, forSeconds: 60, severity: 'critical' },
      },
    });
    // A default Site given again merges with its default spec.
    assert.deepEqual(sites['site-01'], {
      displayName: 'Headquarters',
      zones: 5,
      devicesPerZone: 3,
      eventsPerSecond: 2,
    });
    const policies = objects
      .filter((o) => o.kind === 'NetworkPolicy')
      .map((p) => p.metadata.name)
      .sort();
    assert.deepEqual(policies, [
      'telemetrypulse-api',
      'telemetrypulse-migrations',
      'telemetrypulse-operator',
      'telemetrypulse-postgresql',
      'telemetrypulse-processor',
      'telemetrypulse-redpanda',
      'telemetrypulse-simulators',
      'telemetrypulse-test',
    ]);
    const database = findObject(objects, 'NetworkPolicy', 'telemetrypulse-postgresql');
    const allowed = JSON.stringify(database.spec);
    for (const client of ['api', 'processor', 'operator', 'migrations']) {
      assert.ok(
        allowed.includes(`"app.kubernetes.io/component":"${client}"`),
        `${client} reaches PostgreSQL`,
      );
    }
    assert.ok(
      !allowed.includes('"app.kubernetes.io/component":"simulator"'),
      'simulators never reach PostgreSQL',
    );
  });

  describe('PostgreSQL’s max_connections and the pools', () => {
    /**
     * The connections the rendered apps may hold at once, counted from the rendered objects: each
     * Deployment with DATABASE_URL holds its pool (the last DATABASE_POOL_SIZE, as the kubelet
     * takes it; the operator's default is 2) in each of its most pods (replicas, or its
     * ScaledObject's or HPA's maximum), plus a rolling update's surge (maxSurge 25%, rounded
     * up) when withSurge, plus the migration Job's 2.
     */
    const connections = (objects: KubeObject[], withSurge: boolean) => {
      let total = objects.some((o) => o.kind === 'Job') ? 2 : 0;
      for (const object of objects.filter((o) => o.kind === 'Deployment')) {
        const container = mainContainer(object);
        if (!envOf(container, 'DATABASE_URL')) continue;
        const sizes = (container.env ?? []).filter((e) => e.name === 'DATABASE_POOL_SIZE');
        const pool = Number(sizes.at(-1)?.value ?? 2);
        const scaler = objects.find(
          (o) =>
            ['ScaledObject', 'HorizontalPodAutoscaler'].includes(o.kind) &&
            o.metadata.name === object.metadata.name,
        );
        const scalerSpec = scaler?.spec as
          { maxReplicaCount?: number; maxReplicas?: number } | undefined;
        const pods =
          scalerSpec?.maxReplicaCount ??
          scalerSpec?.maxReplicas ??
          (object.spec as { replicas?: number }).replicas ??
          1;
        total += pool * (pods + (withSurge ? Math.ceil(pods / 4) : 0));
      }
      return total;
    };
    const maxConnections = (objects: KubeObject[]) => {
      const args = mainContainer(
        findObject(objects, 'StatefulSet', 'telemetrypulse-postgresql'),
      ).args;
      const setting = args?.find((a) => a.startsWith('max_connections='));
      assert.ok(setting && args?.[0] === 'postgres', `postgres args: ${JSON.stringify(args)}`);
      return Number(setting.split('=')[1]);
    };
    const cases: { name: string; values: Record<string, unknown> }[] = [
      { name: 'the defaults', values: {} },
      {
        name: 'a raised maxReplicas',
        values: {
          kafka: { eventsPartitions: 24 },
          processor: { autoscaling: { maxReplicas: 24 } },
        },
      },
      {
        name: 'bigger pools and more API and operator replicas',
        values: {
          database: { poolSize: 20 },
          api: { replicas: 5 },
          operator: { replicas: 2, env: { DATABASE_POOL_SIZE: 4 } },
          processor: { env: { DATABASE_POOL_SIZE: 15 } },
        },
      },
      {
        name: 'an HPA',
        values: { processor: { autoscaling: { mode: 'hpa', maxReplicas: 8 } } },
      },
      {
        name: 'fixed processor replicas',
        values: { processor: { replicas: 6, autoscaling: { mode: 'fixed' } } },
      },
    ];
    for (const { name, values } of cases) {
      it(`when rendered with ${name}, then max_connections exceeds every pool at full scale-out, rolling updates included`, async () => {
        const objects = await renderChart(helm, { values, apiVersions: [KEDA_API] });
        const steady = connections(objects, false);
        const rolling = connections(objects, true);
        const max = maxConnections(objects);
        // PostgreSQL keeps superuser_reserved_connections (3) of max_connections to itself.
        assert.ok(max >= rolling + 3, `max_connections ${max} < ${rolling} + 3 (steady ${steady})`);
        assert.ok(max <= 2 * rolling + 20, `max_connections ${max} is far above ${rolling}`);
      });
    }

    it('when maxReplicas is raised, then max_connections rises with it; without KEDA in the cluster, auto still sizes for KEDA’s maximum', async () => {
      const base = maxConnections(await renderChart(helm));
      const raised = maxConnections(
        await renderChart(helm, {
          values: {
            kafka: { eventsPartitions: 24 },
            processor: { autoscaling: { maxReplicas: 24 } },
          },
        }),
      );
      // 12 more processor pods (+3 surge) with 10 connections each.
      assert.ok(raised >= base + 150, `${base} -> ${raised}`);
      const withKeda = await renderChart(helm, { apiVersions: [KEDA_API] });
      assert.equal(maxConnections(withKeda), base, 'installing KEDA later does not restart it');
    });

    it('when postgresql.maxConnections is given, then it is used, and refused below the pools’ sum', async () => {
      const objects = await renderChart(helm, { values: { postgresql: { maxConnections: 500 } } });
      assert.equal(maxConnections(objects), 500);
      const low = await helmTemplate(helm, { values: { postgresql: { maxConnections: 100 } } });
      assert.notEqual(low.code, 0);
      assert.match(low.stderr, /postgresql.maxConnections \(100\) is below .* \(189\)/);
    });
  });

  describe('NetworkPolicies admit what each port serves', () => {
    type Peer = Record<string, unknown> & {
      podSelector?: { matchLabels?: Record<string, string> };
    };
    interface Rule {
      ports: { port: number | string }[];
      from?: Peer[];
    }
    const ingress = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
    };
    const prometheus = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
    };
    const render = (networkPolicy: Record<string, unknown>) =>
      renderChart(helm, { values: { networkPolicy: { enabled: true, ...networkPolicy } } });
    const rules = (objects: KubeObject[], name: string) =>
      (findObject(objects, 'NetworkPolicy', `telemetrypulse-${name}`).spec as { ingress: Rule[] })
        .ingress;
    /** Who may connect to the port: 'anyone', the peers, or 'no one' (no rule names the port). */
    const admitted = (objects: KubeObject[], name: string, port: number) => {
      const matching = rules(objects, name).filter((r) => r.ports.some((p) => p.port === port));
      if (matching.length === 0) return 'no one';
      if (matching.some((r) => !r.from)) return 'anyone';
      return matching.flatMap((r) => r.from ?? []);
    };
    const selects = (peer: Peer, labels: Record<string, string> | undefined) =>
      !('namespaceSelector' in peer) &&
      Object.entries(peer.podSelector?.matchLabels ?? { none: '' }).every(
        ([key, value]) => labels?.[key] === value,
      );
    const helmTest = (objects: KubeObject[]) => {
      const test = objects.find((o) => o.metadata.annotations?.['helm.sh/hook'] === 'test');
      assert.ok(test);
      return test;
    };

    it('when only apiFrom is set, then Prometheus and helm test still reach the API (its one port stays open, as documented) and every /metrics stays open', async () => {
      const objects = await render({ apiFrom: [ingress], metricsFrom: [] });
      assert.equal(admitted(objects, 'api', 8000), 'anyone');
      assert.equal(admitted(objects, 'processor', 9464), 'anyone');
      assert.equal(admitted(objects, 'operator', 9480), 'anyone');
      assert.equal(admitted(objects, 'simulators', 9470), 'anyone');
      assert.equal(admitted(objects, 'redpanda', 9644), 'anyone');
    });

    it('when only metricsFrom is set, then the API stays open to everyone and every metrics port admits only metricsFrom', async () => {
      const objects = await render({ apiFrom: [], metricsFrom: [prometheus] });
      assert.equal(admitted(objects, 'api', 8000), 'anyone');
      for (const [name, port] of [
        ['processor', 9464],
        ['operator', 9480],
        ['simulators', 9470],
        ['redpanda', 9644],
      ] as const) {
        assert.deepEqual(admitted(objects, name, port), [prometheus], name);
      }
    });

    it('when apiFrom and metricsFrom are both set, then the API’s port admits both and the chart’s helm test pod, and nobody else', async () => {
      const objects = await render({ apiFrom: [ingress], metricsFrom: [prometheus] });
      const peers = admitted(objects, 'api', 8000);
      assert.ok(Array.isArray(peers), `the API admits ${JSON.stringify(peers)}`);
      assert.deepEqual(peers.slice(0, 2), [ingress, prometheus]);
      assert.equal(peers.length, 3);
      const testPeer = peers[2];
      assert.ok(testPeer && selects(testPeer, helmTest(objects).metadata.labels), 'helm test');
      const api = deployment(objects, 'api').spec as {
        template: { metadata: { labels: Record<string, string> } };
      };
      assert.ok(!selects(testPeer, api.template.metadata.labels), 'the test peer is the test pod');
      assert.deepEqual(admitted(objects, 'processor', 9464), [prometheus]);
      // Without helm test in the chart, its pod is not admitted either.
      const noTests = await renderChart(helm, {
        values: {
          networkPolicy: { enabled: true, apiFrom: [ingress], metricsFrom: [prometheus] },
          tests: { enabled: false },
        },
      });
      assert.deepEqual(admitted(noTests, 'api', 8000), [ingress, prometheus]);
    });

    it('when any policy is on, then Redpanda admits its Kafka clients and the admin port its probes use, and every port a probe uses is open', async () => {
      for (const networkPolicy of [{}, { apiFrom: [ingress], metricsFrom: [prometheus] }]) {
        const objects = await render(networkPolicy);
        const kafka = admitted(objects, 'redpanda', 9092);
        assert.ok(Array.isArray(kafka));
        assert.ok(
          kafka.some((peer) =>
            selects(peer, {
              'app.kubernetes.io/component': 'processor',
              'app.kubernetes.io/name': 'telemetrypulse',
              'app.kubernetes.io/instance': 'telemetrypulse',
            }),
          ),
        );
        assert.notEqual(admitted(objects, 'redpanda', 9644), 'no one');
        const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
        for (const workload of objects.filter((o) =>
          ['Deployment', 'StatefulSet'].includes(o.kind),
        )) {
          const template = (
            workload.spec as { template: { metadata: { labels: Record<string, string> } } }
          ).template;
          const policy = policies.find((p) => selects(p.spec as Peer, template.metadata.labels));
          assert.ok(policy, `no NetworkPolicy selects ${workload.metadata.name}`);
          for (const container of podSpec(workload)?.containers ?? []) {
            const c = container as Container & {
              ports?: { name?: string; containerPort: number }[];
            };
            for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
              const action = probe as
                | { httpGet?: { port: number | string }; tcpSocket?: { port: number | string } }
                | undefined;
              const named = action?.httpGet?.port ?? action?.tcpSocket?.port;
              if (named === undefined) continue;
              const port =
                typeof named === 'number'
                  ? named
                  : c.ports?.find((p) => p.name === named)?.containerPort;
              assert.ok(port, `${workload.metadata.name}: probe port ${named}`);
              const name = policy.metadata.name.replace(/^telemetrypulse-/, '');
              assert.notEqual(
                admitted(objects, name, port),
                'no one',
                `${workload.metadata.name} probes ${port}`,
              );
            }
          }
        }
      }
    });
  });

  it('values.schema.json checks Sites with the Site contract itself', () => {
    const definitions = readValuesSchema().definitions as Record<string, unknown>;
    assert.deepEqual(
      definitions.siteSpec,
      siteSpecValuesSchema(),
      'out of date: run node apps/devstack/src/chart/values-schema.ts',
    );
  });

  describe('wrong values are refused with a message naming them', () => {
    const cases: { name: string; values: Record<string, unknown>; message: RegExp }[] = [
      {
        name: 'an unknown key',
        values: { api: { replica: 2 } },
        message: /api.*additional properties 'replica' not allowed|replica/,
      },
      {
        name: 'an unknown scaling mode',
        values: { processor: { autoscaling: { mode: 'sometimes' } } },
        message: /\/processor\/autoscaling\/mode/,
      },
      { name: 'a wrong type', values: { api: { replicas: 'two' } }, message: /\/api\/replicas/ },
      { name: 'an unknown log level', values: { logLevel: 'verbose' }, message: /\/logLevel/ },
      {
        name: 'more processor replicas than partitions',
        values: { processor: { autoscaling: { maxReplicas: 20 } } },
        message: /maxReplicas \(20\) must not exceed kafka.eventsPartitions \(12\)/,
      },
      {
        name: 'min above max',
        values: { processor: { autoscaling: { minReplicas: 5, maxReplicas: 3 } } },
        message: /minReplicas \(5\) must not exceed/,
      },
      {
        name: 'no brokers without Redpanda',
        values: { redpanda: { enabled: false } },
        message: /kafka.brokers is required/,
      },
      {
        name: 'no database without PostgreSQL',
        values: { postgresql: { enabled: false } },
        message: /database.existingSecret or database.url is required/,
      },
      {
        name: 'a site with no zones',
        values: { sites: { bad: { zones: 0 } } },
        message: /\/sites\/bad\/zones/,
      },
      {
        name: 'a site with an unknown sensor',
        values: { sites: { bad: { sensors: ['co2', 'noise'] } } },
        message: /\/sites\/bad\/sensors\/1/,
      },
      {
        name: 'a site field with a typo',
        values: { sites: { bad: { zone: 3 } } },
        message: /\/sites\/bad.*zone/,
      },
      {
        name: 'a site name that is no DNS label',
        values: { sites: { Bad_Name: {} } },
        message: /'Bad_Name' does not match pattern/,
      },
      {
        name: 'a broker list without ports',
        values: { redpanda: { enabled: false }, kafka: { brokers: 'kafka' } },
        message: /\/kafka\/brokers/,
      },
      {
        name: 'an Ingress path without a slash',
        values: {
          api: {
            ingress: {
              hosts: [{ host: 'x.example', paths: [{ path: 'api', pathType: 'Prefix' }] }],
            },
          },
        },
        message: /\/api\/ingress\/hosts\/0\/paths\/0\/path/,
      },
      {
        name: 'a short API key',
        values: { api: { auth: { apiKeys: ['abc'] } } },
        message: /\/api\/auth\/apiKeys\/0/,
      },
    ];
    for (const { name, values, message } of cases) {
      it(`refuses ${name}`, async () => {
        const result = await helmTemplate(helm, { values });
        assert.notEqual(result.code, 0, `accepted ${JSON.stringify(values)}`);
        assert.match(result.stderr, message);
      });
    }
  });
});
