// The chart's security boundaries with the real helm: NetworkPolicies on by default with exactly
// the paths the apps use, service-account tokens only in the operator's pods, Redpanda's admin
// API kept out of its Service, an Ingress without a host only on request, TRUST_PROXY_HOPS from
// the Ingress, and generated secrets that stay put across `helm upgrade` (on the testbed, where
// helm's `lookup` sees the cluster) or come from existingSecret for `helm template` flows.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import {
  findObject,
  helmTemplate,
  renderChart,
  runHelm,
  type KubeObject,
} from '../../../src/chart/render.ts';
import { CHART_DIR } from '../../../src/chart/values-schema.ts';
import { REPO_ROOT } from '../../../src/paths.ts';
import {
  type Testbed,
  TESTBED_START_TIMEOUT_MS,
  useTestbed,
  useTestNamespace,
} from '../../../src/test/testbed.ts';
import { ensureHelm } from '../../../src/tools/helm.ts';

const MATRIX_DIR = path.join(CHART_DIR, 'ci');
const KIND_VALUES = path.join(REPO_ROOT, 'k8s', 'kind', 'values.yaml');
const NODE_VALUES = path.join(REPO_ROOT, 'k8s', 'node', 'values.yaml');
const DEV_VALUES = path.join(CHART_DIR, 'values-dev.yaml');
/** The operator's simulator pods (apps/operator/src/reconcile/desired.ts, siteLabels). */
const SIMULATOR_LABELS = {
  'app.kubernetes.io/name': 'simulator',
  'app.kubernetes.io/instance': 'site-01',
  'app.kubernetes.io/component': 'simulator',
  'app.kubernetes.io/part-of': 'telemetrypulse',
  'app.kubernetes.io/managed-by': 'telemetrypulse-operator',
};

interface Peer {
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: { cidr: string };
}
interface Port {
  port: number;
  protocol: string;
}
interface PolicySpec {
  podSelector: { matchLabels: Record<string, string> };
  policyTypes: string[];
  ingress: { ports: Port[]; from?: Peer[] }[];
  egress: { ports: Port[]; to?: Peer[] }[];
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface PodSpec {
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
  containers: { name: string; env?: EnvVar[] }[];
  initContainers?: { name: string; env?: EnvVar[] }[];
}

/** A peer as a short word: pod:<component>, ns:<name>, ip:<cidr>; both selectors joined by /. */
function peerName(peer: Peer): string {
  const parts: string[] = [];
  const ns = peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'];
  if (ns) parts.push(`ns:${ns}`);
  const labels = peer.podSelector?.matchLabels;
  if (labels) {
    const component = labels['app.kubernetes.io/component'];
    parts.push(
      component
        ? `pod:${component}`
        : `pod:${Object.entries(labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(',')}`,
    );
  }
  if (peer.ipBlock) parts.push(`ip:${peer.ipBlock.cidr}`);
  return parts.join('/');
}

/** Each rule as "ports <- or -> peers" ("anyone" without peers), in order. */
function paths(rules: { ports: Port[]; from?: Peer[]; to?: Peer[] }[]): string[] {
  return rules.map((rule) => {
    const ports = rule.ports.map((p) => `${p.port}/${p.protocol}`).join(',');
    const peers = rule.from ?? rule.to;
    return `${ports} ${peers ? peers.map(peerName).join(' ') : 'anyone'}`;
  });
}

/** Every policy by name (without the release prefix): its ingress and egress paths. */
function policyPaths(objects: KubeObject[]): Record<string, { in: string[]; out: string[] }> {
  return Object.fromEntries(
    objects
      .filter((o) => o.kind === 'NetworkPolicy')
      .map((o) => {
        const spec = o.spec as PolicySpec;
        assert.deepEqual(spec.policyTypes, ['Ingress', 'Egress'], o.metadata.name);
        return [
          o.metadata.name.replace(/^telemetrypulse-/, ''),
          { in: paths(spec.ingress), out: paths(spec.egress) },
        ];
      }),
  );
}

function podSpec(object: KubeObject): PodSpec | undefined {
  const spec = object.spec as Record<string, unknown> | undefined;
  if (object.kind === 'Pod') return spec as unknown as PodSpec;
  return (spec?.template as { spec?: PodSpec } | undefined)?.spec;
}

function podLabels(object: KubeObject): Record<string, string> {
  if (object.kind === 'Pod') return object.metadata.labels ?? {};
  return (object.spec as { template: { metadata: { labels: Record<string, string> } } }).template
    .metadata.labels;
}

function selects(policy: KubeObject, labels: Record<string, string>): boolean {
  const wanted = (policy.spec as PolicySpec).podSelector.matchLabels;
  return Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

function apiEnv(objects: KubeObject[], name: string): EnvVar[] {
  const api = podSpec(findObject(objects, 'Deployment', 'telemetrypulse-api'));
  return api?.containers[0]?.env?.filter((e) => e.name === name) ?? [];
}

const DNS = '53/UDP,53/TCP ns:kube-system/pod:k8s-app=kube-dns';
const KAFKA = '9092/TCP pod:redpanda';
const POSTGRESQL = '5432/TCP pod:postgresql';

describe('Helm chart: security boundaries (render)', function () {
  this.timeout(20 * 60_000);
  let helm: string;

  before(async () => {
    helm = await ensureHelm();
  });

  describe('NetworkPolicies', () => {
    it('when rendered with the defaults, then every component has a policy that admits and opens exactly the paths it uses', async () => {
      const objects = await renderChart(helm);
      assert.deepEqual(policyPaths(objects), {
        // The ingress controller, Prometheus (the same port serves /metrics) and helm test.
        api: {
          in: ['8000/TCP ns:ingress-nginx ns:monitoring pod:test'],
          out: [DNS, KAFKA, POSTGRESQL],
        },
        processor: { in: ['9464/TCP ns:monitoring'], out: [DNS, KAFKA, POSTGRESQL] },
        // The API server's address depends on the cluster: its ports, anywhere.
        operator: {
          in: ['9480/TCP ns:monitoring'],
          out: [DNS, '443/TCP,6443/TCP anyone', POSTGRESQL],
        },
        migrations: { in: [], out: [DNS, POSTGRESQL] },
        test: { in: [], out: [DNS, '8000/TCP pod:api'] },
        postgresql: {
          in: ['5432/TCP pod:api pod:processor pod:operator pod:migrations'],
          out: [],
        },
        redpanda: {
          in: ['9092/TCP pod:api pod:processor pod:simulator ns:keda', '9644/TCP ns:monitoring'],
          out: [DNS],
        },
        simulators: { in: ['9470/TCP ns:monitoring'], out: [DNS, KAFKA] },
      });
    });

    it('when rendered with any values file, then every pod of the chart and the operator’s simulators are selected by exactly one policy', async () => {
      const files = readdirSync(MATRIX_DIR).filter((f) => f.endsWith('.yaml'));
      for (const file of [...files.map((f) => path.join(MATRIX_DIR, f)), NODE_VALUES]) {
        const objects = await renderChart(helm, {
          valuesFiles: [file],
          apiVersions: ['keda.sh/v1alpha1/ScaledObject'],
        });
        const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
        const pods = objects.filter((o) => podSpec(o));
        assert.ok(pods.length >= 4, `${file}: pods rendered`);
        for (const labels of [...pods.map(podLabels), SIMULATOR_LABELS]) {
          const matching = policies.filter((p) => selects(p, labels)).map((p) => p.metadata.name);
          assert.equal(
            matching.length,
            1,
            `${file}: ${JSON.stringify(labels)} -> ${matching.join()}`,
          );
        }
      }
    });

    it('when Kafka and PostgreSQL are outside the release, then egress goes to the given peers on the ports of kafka.brokers and databasePort', async () => {
      const node = policyPaths(await renderChart(helm, { valuesFiles: [NODE_VALUES] }));
      const nodeIp = 'ip:10.213.0.2/32';
      assert.deepEqual(node.api?.out, [
        `53/UDP,53/TCP ${nodeIp}`,
        `9092/TCP ${nodeIp}`,
        `5432/TCP ${nodeIp}`,
      ]);
      assert.deepEqual(node.operator?.out, [
        `53/UDP,53/TCP ${nodeIp}`,
        `443/TCP,6443/TCP ${nodeIp}`,
        `5432/TCP ${nodeIp}`,
      ]);
      assert.deepEqual(node.simulators?.out, [`53/UDP,53/TCP ${nodeIp}`, `9092/TCP ${nodeIp}`]);
      assert.equal(node.postgresql, undefined, 'no in-release PostgreSQL, no policy for it');
      assert.equal(node.redpanda, undefined);

      const ports = policyPaths(
        await renderChart(helm, {
          valuesFiles: [path.join(MATRIX_DIR, 'external-infra-values.yaml')],
          values: {
            kafka: {
              brokers: 'kafka-0.data.svc:9093,kafka-1.data.svc:19092,kafka-2.data.svc:9093',
            },
            networkPolicy: { egress: { databasePort: 6432 } },
          },
        }),
      );
      assert.deepEqual(ports.processor?.out, [DNS, '9093/TCP,19092/TCP anyone', '6432/TCP anyone']);
    });

    it('when tracing is on, then the apps and simulators may reach the OTLP endpoint’s port, and nothing else is added', async () => {
      const objects = await renderChart(helm, {
        values: { tracing: { otlpEndpoint: 'http://otel-collector.monitoring:4318' } },
      });
      const traced = policyPaths(objects);
      for (const name of ['api', 'processor', 'operator', 'simulators']) {
        assert.equal(traced[name]?.out.at(-1), '4318/TCP anyone', name);
      }
      assert.deepEqual(traced.migrations?.out, [DNS, POSTGRESQL]);
      const https = policyPaths(
        await renderChart(helm, {
          values: {
            tracing: { otlpEndpoint: 'https://otel.example.com' },
            networkPolicy: { egress: { tracing: [{ ipBlock: { cidr: '192.0.2.10/32' } }] } },
          },
        }),
      );
      assert.equal(https.api?.out.at(-1), '443/TCP ip:192.0.2.10/32');
    });

    it('when networkPolicy.enabled is false, then no policy is rendered', async () => {
      const objects = await renderChart(helm, { values: { networkPolicy: { enabled: false } } });
      assert.deepEqual(
        objects.filter((o) => o.kind === 'NetworkPolicy'),
        [],
      );
    });
  });

  it('when rendered with any values file, then only the operator’s pods mount a service-account token', async () => {
    const files = readdirSync(MATRIX_DIR).filter((f) => f.endsWith('.yaml'));
    for (const file of files) {
      const objects = await renderChart(helm, { valuesFiles: [path.join(MATRIX_DIR, file)] });
      for (const object of objects) {
        const pod = podSpec(object);
        if (!pod) continue;
        const where = `${file}: ${object.kind}/${object.metadata.name}`;
        if (object.metadata.name === 'telemetrypulse-operator') {
          assert.notEqual(pod.automountServiceAccountToken, false, where);
          assert.equal(pod.serviceAccountName, 'telemetrypulse-operator', where);
        } else {
          assert.equal(pod.automountServiceAccountToken, false, where);
        }
      }
    }
  });

  it('when Redpanda runs in the release, then its Service offers only the Kafka port, and its probes still use the admin port on the pod', async () => {
    const objects = await renderChart(helm);
    const service = findObject(objects, 'Service', 'telemetrypulse-redpanda');
    assert.deepEqual((service.spec as { ports: unknown[] }).ports, [
      { name: 'kafka', port: 9092, targetPort: 'kafka' },
    ]);
    const broker = podSpec(findObject(objects, 'StatefulSet', 'telemetrypulse-redpanda'))
      ?.containers[0] as { readinessProbe?: { httpGet?: { port: string } } } | undefined;
    assert.equal(broker?.readinessProbe?.httpGet?.port, 'admin');
  });

  describe('the Ingress and TRUST_PROXY_HOPS', () => {
    const rules = (objects: KubeObject[]) =>
      (findObject(objects, 'Ingress', 'telemetrypulse-api').spec as { rules: { host?: string }[] })
        .rules;

    it('when the Ingress is on with a rule without a host, then the chart refuses to render, naming the value to set', async () => {
      const result = await helmTemplate(helm, { values: { api: { ingress: { enabled: true } } } });
      assert.notEqual(result.code, 0);
      assert.match(
        result.stderr,
        /api\.ingress\.hosts\[0\]\.host is empty: .*set api\.ingress\.allowAnyHost=true/,
      );
    });

    it('when allowAnyHost is set (the kind and skaffold values), then the rule without a host is rendered', async () => {
      for (const file of [KIND_VALUES, DEV_VALUES]) {
        const objects = await renderChart(helm, { valuesFiles: [file] });
        assert.deepEqual(
          rules(objects).map((r) => r.host),
          [undefined],
          file,
        );
      }
    });

    it('when the Ingress has a host, then it renders without allowAnyHost', async () => {
      const objects = await renderChart(helm, {
        valuesFiles: [path.join(MATRIX_DIR, 'ingress-tls-values.yaml')],
      });
      assert.deepEqual(
        rules(objects).map((r) => r.host),
        ['telemetry.example.com'],
      );
    });

    it('when the Ingress is off, then the API trusts no proxy; when it is on, as many hops as api.ingress.trustedProxies', async () => {
      const hops = async (values: Record<string, unknown>, files: string[] = []) =>
        apiEnv(await renderChart(helm, { values, valuesFiles: files }), 'TRUST_PROXY_HOPS').map(
          (e) => e.value,
        );
      assert.deepEqual(await hops({}), ['0']);
      assert.deepEqual(await hops({ api: { ingress: { trustedProxies: 3 } } }), ['0']);
      assert.deepEqual(await hops({}, [KIND_VALUES]), ['1']);
      assert.deepEqual(await hops({ api: { ingress: { trustedProxies: 2 } } }, [KIND_VALUES]), [
        '2',
      ]);
      // api.env is the last word, and the variable appears once.
      assert.deepEqual(await hops({ api: { env: { TRUST_PROXY_HOPS: 4 } } }, [KIND_VALUES]), ['4']);
    });
  });

  it('when rendered by helm template (no lookup), then generated secrets change at every render, and existingSecret values make the render repeatable', async () => {
    const generated = await Promise.all([renderChart(helm), renderChart(helm)]);
    const password = (objects: KubeObject[]) =>
      (findObject(objects, 'Secret', 'telemetrypulse-postgresql').data as Record<string, string>)
        .POSTGRES_PASSWORD;
    assert.notEqual(password(generated[0]), password(generated[1]));
    const values = {
      postgresql: { auth: { existingSecret: 'tp-db' } },
      api: { auth: { existingSecret: 'tp-api-keys' } },
    };
    const [first, second] = await Promise.all([
      helmTemplate(helm, { values }),
      helmTemplate(helm, { values }),
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, second.stdout);
    assert.ok(!/^kind: Secret$/m.test(first.stdout), 'the chart renders no Secret');
  });

  describe('PostgreSQL’s password from an existing Secret', () => {
    const existing = { postgresql: { auth: { existingSecret: 'tp-db', existingSecretKey: 'pw' } } };

    it('when postgresql.auth.existingSecret is given, then the chart makes no Secret for it and every client takes the password from it', async () => {
      const objects = await renderChart(helm, { values: existing });
      assert.ok(
        !objects.some((o) => o.kind === 'Secret' && o.metadata.name.endsWith('-postgresql')),
      );
      const server = podSpec(findObject(objects, 'StatefulSet', 'telemetrypulse-postgresql'));
      assert.deepEqual(
        server?.containers[0]?.env?.find((e) => e.name === 'POSTGRES_PASSWORD')?.valueFrom,
        { secretKeyRef: { name: 'tp-db', key: 'pw' } },
      );
      const url =
        'postgres://telemetry@telemetrypulse-postgresql.telemetrypulse.svc.cluster.local:5432/telemetry';
      for (const name of ['api', 'processor', 'operator']) {
        const pod = podSpec(findObject(objects, 'Deployment', `telemetrypulse-${name}`));
        for (const container of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) {
          const env = container.env ?? [];
          const where = `${name}/${container.name}`;
          assert.deepEqual(
            env.filter((e) => e.name === 'DATABASE_URL').map((e) => e.value),
            [url],
            where,
          );
          assert.deepEqual(
            env.find((e) => e.name === 'PGPASSWORD')?.valueFrom,
            { secretKeyRef: { name: 'tp-db', key: 'pw' } },
            where,
          );
        }
      }
    });

    it('when both a password and an existing Secret are given, then the chart refuses them', async () => {
      const result = await helmTemplate(helm, {
        values: { postgresql: { auth: { existingSecret: 'tp-db', password: 'given-password' } } },
      });
      assert.notEqual(result.code, 0);
      assert.match(
        result.stderr,
        /postgresql\.auth\.password and postgresql\.auth\.existingSecret/,
      );
    });
  });
});

describe('Helm chart: security boundaries on a real kube-apiserver', function () {
  this.timeout(TESTBED_START_TIMEOUT_MS);
  const RELEASE = 'telemetrypulse';
  let testbed: Testbed;
  let helm: string;
  let kubeEnv: NodeJS.ProcessEnv;
  const namespace = useTestNamespace('chart-boundaries');

  before(async function () {
    [testbed, helm] = await Promise.all([useTestbed(), ensureHelm()]);
    kubeEnv = { KUBECONFIG: testbed.kubeconfigPath };
  });

  const helmOk = async (args: string[]) => {
    const result = await runHelm(helm, args, kubeEnv);
    assert.equal(result.code, 0, `helm ${args.join(' ')}:\n${result.stderr}`);
    return result.stdout;
  };
  const secretData = async (name: string) => {
    const core = testbed.kubeConfig().makeApiClient(CoreV1Api);
    const secret = await core.readNamespacedSecret({ name, namespace: namespace.name });
    return secret.data ?? {};
  };
  // Sites need the CRD, which a --no-hooks install into a throwaway namespace does not bring.
  const noSites = ['--set-json', 'sites={"site-01":null,"site-02":null,"site-03":null}'];

  it('when the release is upgraded with other values, then the generated PostgreSQL password and API key stay the same', async () => {
    const target = ['--namespace', namespace.name, '--no-hooks', ...noSites];
    await helmOk(['install', RELEASE, CHART_DIR, ...target]);
    const database = await secretData('telemetrypulse-postgresql');
    const keys = await secretData('telemetrypulse-api-keys');
    assert.ok(database.POSTGRES_PASSWORD && keys.API_KEYS);
    await helmOk(['upgrade', RELEASE, CHART_DIR, ...target, '--set', 'logLevel=debug']);
    await helmOk(['upgrade', RELEASE, CHART_DIR, ...target, '-f', KIND_VALUES]);
    assert.deepEqual(await secretData('telemetrypulse-postgresql'), database);
    assert.deepEqual(await secretData('telemetrypulse-api-keys'), keys);
  });

  it('when installed with allowAnyHost, then the install notes warn about the Ingress without a host', async () => {
    const dryRun = [
      'install',
      RELEASE,
      CHART_DIR,
      '--namespace',
      'default',
      '--dry-run=server',
      ...noSites,
    ];
    const anyHost = await helmOk([...dryRun, '-f', KIND_VALUES]);
    assert.match(anyHost, /Warning: the Ingress has a rule without a host/);
    const withHost = await helmOk([
      ...dryRun,
      '-f',
      path.join(MATRIX_DIR, 'ingress-tls-values.yaml'),
    ]);
    assert.doesNotMatch(withHost, /rule without a host/);
  });
});
