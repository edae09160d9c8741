// The values users expect from most charts (nameOverride, fullnameOverride, replicaCount and the
// pod settings of each component), rendered with the real helm: each does what values.yaml says,
// and the defaults render exactly what the chart rendered before they existed, so the names and
// selectors of installed releases (and of the e2e tests) stay as they were.
import assert from 'node:assert/strict';
import { helmTemplate, renderChart, runHelm, type KubeObject } from '../../../src/chart/render.ts';
import { CHART_DIR } from '../../../src/chart/values-schema.ts';
import { type Testbed, TESTBED_START_TIMEOUT_MS, useTestbed } from '../../../src/test/testbed.ts';
import { ensureHelm } from '../../../src/tools/helm.ts';

const COMPONENTS = ['api', 'processor', 'operator'] as const;

/**
 * What the chart rendered with its defaults for release telemetrypulse before these keys, plus
 * the API's and processor's own ServiceAccounts (serviceAccount.create).
 */
const DEFAULT_OBJECTS = [
  'NetworkPolicy/telemetrypulse-api',
  'NetworkPolicy/telemetrypulse-processor',
  'NetworkPolicy/telemetrypulse-operator',
  'NetworkPolicy/telemetrypulse-migrations',
  'NetworkPolicy/telemetrypulse-test',
  'NetworkPolicy/telemetrypulse-postgresql',
  'NetworkPolicy/telemetrypulse-redpanda',
  'NetworkPolicy/telemetrypulse-simulators',
  'PodDisruptionBudget/telemetrypulse-api',
  'ServiceAccount/telemetrypulse-api',
  'ServiceAccount/telemetrypulse-processor',
  'ServiceAccount/telemetrypulse-operator',
  'Secret/telemetrypulse-api-keys',
  'Secret/telemetrypulse-postgresql',
  'Role/telemetrypulse-operator',
  'Role/telemetrypulse-operator-leader',
  'RoleBinding/telemetrypulse-operator',
  'RoleBinding/telemetrypulse-operator-leader',
  'Service/telemetrypulse-api',
  'Service/telemetrypulse-postgresql',
  'Service/telemetrypulse-redpanda',
  'Service/telemetrypulse-processor',
  'Deployment/telemetrypulse-api',
  'Deployment/telemetrypulse-operator',
  'Deployment/telemetrypulse-processor',
  'StatefulSet/telemetrypulse-postgresql',
  'StatefulSet/telemetrypulse-redpanda',
  'Site/site-01',
  'Site/site-02',
  'Site/site-03',
  'Pod/telemetrypulse-test-api-ready',
  'Job/telemetrypulse-migrations',
];

interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}
interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  env?: { name: string; value?: string }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
}
interface DeploymentSpec {
  replicas?: number;
  selector: { matchLabels: Record<string, string> };
  template: PodTemplate;
}

const specOf = (object: KubeObject) => object.spec as DeploymentSpec;
const names = (objects: KubeObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);

function deployment(objects: KubeObject[], name: string): DeploymentSpec {
  const found = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name);
  assert.ok(found, `no Deployment/${name} in ${names(objects).join(', ')}`);
  return specOf(found);
}

/** Every object without the Secrets' generated data, which differs between two renders. */
function comparable(objects: KubeObject[]): unknown[] {
  return objects.map((o) => (o.kind === 'Secret' ? { ...o, data: undefined } : o));
}

describe('Helm chart: the values users expect from most charts', function () {
  this.timeout(10 * 60_000);
  let helm: string;
  let defaults: KubeObject[];

  before(async () => {
    helm = await ensureHelm();
    defaults = await renderChart(helm);
  });

  describe('with the defaults', () => {
    it('then the objects have the names they had before these keys, and a ServiceAccount per app', () => {
      assert.deepEqual(names(defaults), DEFAULT_OBJECTS);
    });

    it('then each Deployment selects its pods by chart name, release and component, as before', () => {
      for (const component of COMPONENTS) {
        const spec = deployment(defaults, `telemetrypulse-${component}`);
        assert.deepEqual(spec.selector.matchLabels, {
          'app.kubernetes.io/name': 'telemetrypulse',
          'app.kubernetes.io/instance': 'telemetrypulse',
          'app.kubernetes.io/component': component,
        });
      }
    });

    it('then a release whose name lacks the chart name gets <release>-telemetrypulse-<component>', async () => {
      const demo = await renderChart(helm, { release: 'demo' });
      for (const component of COMPONENTS) deployment(demo, `demo-telemetrypulse-${component}`);
    });

    it('then setting every new key to its default renders the same objects', async () => {
      const pod = {
        podAnnotations: {},
        podLabels: {},
        priorityClassName: '',
        nodeSelector: {},
        tolerations: [],
        affinity: {},
        topologySpreadConstraints: [],
        serviceAccount: { create: true, name: '', annotations: {} },
      };
      const explicit = await renderChart(helm, {
        values: {
          nameOverride: '',
          fullnameOverride: '',
          global: { imageRegistry: '' },
          api: { replicaCount: 2, preStopSleepSeconds: 5, image: { pullPolicy: '' }, ...pod },
          processor: { replicaCount: 1, image: { pullPolicy: '' }, ...pod },
          operator: { replicaCount: 1, image: { pullPolicy: '' }, ...pod },
          simulator: { image: { pullPolicy: '' }, ...pod, serviceAccount: undefined },
          migrations: { image: { pullPolicy: '' } },
        },
      });
      assert.deepEqual(comparable(explicit), comparable(defaults));
      assert.equal(deployment(defaults, 'telemetrypulse-api').replicas, 2);
      const spec = deployment(defaults, 'telemetrypulse-api').template.spec;
      for (const field of ['priorityClassName', 'topologySpreadConstraints', 'nodeSelector']) {
        assert.ok(!(field in spec), `${field} is rendered without a value`);
      }
    });
  });

  describe('names', () => {
    it('when nameOverride is set, then it replaces the chart name in names and app.kubernetes.io/name', async () => {
      const objects = await renderChart(helm, { release: 'demo', values: { nameOverride: 'tp' } });
      for (const component of COMPONENTS) {
        const spec = deployment(objects, `demo-tp-${component}`);
        assert.equal(spec.selector.matchLabels['app.kubernetes.io/name'], 'tp');
        assert.equal(spec.template.metadata.labels['app.kubernetes.io/name'], 'tp');
      }
      const service = objects.find(
        (o) => o.kind === 'Service' && o.metadata.name === 'demo-tp-api',
      );
      assert.equal(
        (service?.spec as { selector: Record<string, string> }).selector['app.kubernetes.io/name'],
        'tp',
      );
      // A release name that holds the override is the full name alone, as with the chart name.
      const holding = await renderChart(helm, {
        release: 'tp-prod',
        values: { nameOverride: 'tp' },
      });
      deployment(holding, 'tp-prod-api');
    });

    it('when fullnameOverride is set, then it replaces <release>-telemetrypulse and keeps the name label', async () => {
      const objects = await renderChart(helm, {
        release: 'demo',
        values: { fullnameOverride: 'metrics' },
      });
      for (const component of COMPONENTS) {
        const spec = deployment(objects, `metrics-${component}`);
        assert.equal(spec.selector.matchLabels['app.kubernetes.io/name'], 'telemetrypulse');
        assert.equal(spec.selector.matchLabels['app.kubernetes.io/instance'], 'demo');
      }
      assert.ok(names(objects).includes('StatefulSet/metrics-postgresql'));
      assert.ok(!names(objects).some((name) => name.includes('demo-')), names(objects).join(', '));
    });
  });

  describe('pod settings of each component', () => {
    for (const component of COMPONENTS) {
      it(`when ${component}'s pod settings are set, then its pods get them and keep their selector labels`, async () => {
        const spread = [
          {
            maxSkew: 1,
            topologyKey: 'topology.kubernetes.io/zone',
            whenUnsatisfiable: 'ScheduleAnyway',
          },
          {
            maxSkew: 2,
            topologyKey: 'kubernetes.io/hostname',
            whenUnsatisfiable: 'DoNotSchedule',
            labelSelector: { matchLabels: { tier: 'backend' } },
          },
        ];
        const objects = await renderChart(helm, {
          values: {
            [component]: {
              podAnnotations: { 'example.com/owner': 'team-a' },
              podLabels: {
                tier: 'backend',
                'app.kubernetes.io/component': 'other',
                'app.kubernetes.io/name': 'other',
              },
              priorityClassName: 'telemetry-high',
              nodeSelector: { 'kubernetes.io/os': 'linux' },
              topologySpreadConstraints: spread,
            },
          },
        });
        const spec = deployment(objects, `telemetrypulse-${component}`);
        const { metadata, spec: pod } = spec.template;
        assert.equal(metadata.annotations?.['example.com/owner'], 'team-a');
        assert.equal(metadata.labels.tier, 'backend');
        for (const [key, value] of Object.entries(spec.selector.matchLabels)) {
          assert.equal(metadata.labels[key], value, `podLabels overrode ${key}`);
        }
        assert.equal(pod.priorityClassName, 'telemetry-high');
        assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'linux' });
        assert.deepEqual(pod.topologySpreadConstraints, [
          { ...spread[0], labelSelector: { matchLabels: spec.selector.matchLabels } },
          spread[1],
        ]);
        // The other components get none of it.
        for (const other of COMPONENTS.filter((c) => c !== component)) {
          const template = deployment(objects, `telemetrypulse-${other}`).template;
          assert.equal(template.metadata.labels.tier, undefined);
          assert.equal(template.spec.priorityClassName, undefined);
        }
      });
    }

    it('when the API gets podAnnotations, then its checksum annotation stays and wins a clash', async () => {
      const checksum = deployment(defaults, 'telemetrypulse-api').template.metadata.annotations?.[
        'checksum/api-auth'
      ];
      assert.match(checksum ?? '', /^[0-9a-f]{64}$/);
      const objects = await renderChart(helm, {
        values: { api: { podAnnotations: { 'checksum/api-auth': 'x', extra: 'y' } } },
      });
      assert.deepEqual(deployment(objects, 'telemetrypulse-api').template.metadata.annotations, {
        'checksum/api-auth': checksum,
        extra: 'y',
      });
    });
  });

  describe('replicaCount', () => {
    it('when replicaCount is set, then the Deployments run that many', async () => {
      const objects = await renderChart(helm, {
        values: {
          api: { replicaCount: 4 },
          processor: { replicaCount: 3, autoscaling: { mode: 'fixed' } },
          operator: { replicaCount: 2 },
        },
      });
      assert.equal(deployment(objects, 'telemetrypulse-api').replicas, 4);
      assert.equal(deployment(objects, 'telemetrypulse-processor').replicas, 3);
      assert.equal(deployment(objects, 'telemetrypulse-operator').replicas, 2);
    });

    it('when the deprecated replicas is set too, then it wins (as --set api.replicas=1 in the e2e tests)', async () => {
      const objects = await renderChart(helm, {
        values: {
          api: { replicas: 1, replicaCount: 4 },
          processor: { replicas: 5, autoscaling: { mode: 'fixed' } },
          operator: { replicas: 0 },
        },
      });
      assert.equal(deployment(objects, 'telemetrypulse-api').replicas, 1);
      assert.equal(deployment(objects, 'telemetrypulse-processor').replicas, 5);
      assert.equal(deployment(objects, 'telemetrypulse-operator').replicas, 0);
    });

    it('when either key asks for more processors than partitions, then the chart refuses it by that key', async () => {
      const fixed = { mode: 'fixed' };
      const current = await helmTemplate(helm, {
        values: { processor: { replicaCount: 13, autoscaling: fixed } },
      });
      assert.notEqual(current.code, 0);
      assert.match(current.stderr, /processor\.replicaCount \(13\) must not exceed/);
      const old = await helmTemplate(helm, {
        values: { processor: { replicas: 14, autoscaling: fixed } },
      });
      assert.notEqual(old.code, 0);
      assert.match(old.stderr, /processor\.replicas \(14\) must not exceed/);
    });
  });

  describe('images', () => {
    const containers = (objects: KubeObject[]) =>
      objects.flatMap((object) => {
        const spec = object.spec as
          | { template?: { spec: PodSpec }; containers?: Container[]; initContainers?: Container[] }
          | undefined;
        const pod = object.kind === 'Pod' ? (spec as PodSpec | undefined) : spec?.template?.spec;
        return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].map((c) => ({
          object: `${object.kind}/${object.metadata.name}`,
          ...c,
        }));
      });
    const simulatorEnv = (objects: KubeObject[], name: string) =>
      containers(objects)
        .find((c) => c.object === 'Deployment/telemetrypulse-operator')
        ?.env?.find((e) => e.name === name)?.value;

    it('when an app sets image.pullPolicy, then its containers use it and the others imagePullPolicy', async () => {
      const objects = await renderChart(helm, {
        values: {
          imagePullPolicy: 'Never',
          api: { image: { pullPolicy: 'Always' } },
          simulator: { image: { pullPolicy: 'IfNotPresent' } },
        },
      });
      const policies = Object.fromEntries(
        containers(objects).map((c) => [`${c.object}/${c.name}`, c.imagePullPolicy]),
      );
      assert.equal(policies['Deployment/telemetrypulse-api/api'], 'Always');
      assert.equal(policies['Pod/telemetrypulse-test-api-ready/api-ready'], 'Always');
      assert.equal(policies['Deployment/telemetrypulse-processor/processor'], 'Never');
      assert.equal(policies['Deployment/telemetrypulse-operator/operator'], 'Never');
      assert.equal(policies['StatefulSet/telemetrypulse-postgresql/postgresql'], 'Never');
      assert.equal(simulatorEnv(objects, 'SIMULATOR_IMAGE_PULL_POLICY'), 'IfNotPresent');
      assert.equal(simulatorEnv(defaults, 'SIMULATOR_IMAGE_PULL_POLICY'), 'IfNotPresent');
    });

    it('when the migrations run the processor image, then they pull as the processor; with their own image, by their own policy', async () => {
      const migrate = (objects: KubeObject[]) =>
        containers(objects).filter((c) => c.name === 'migrate');
      const shared = await renderChart(helm, {
        values: { processor: { image: { pullPolicy: 'Always' } } },
      });
      assert.ok(migrate(shared).length >= 2, 'the Job and the init containers');
      for (const c of migrate(shared)) {
        assert.equal(c.imagePullPolicy, 'Always', c.object);
        assert.match(c.image, /^telemetrypulse\/processor:/);
      }
      const own = await renderChart(helm, {
        values: {
          processor: { image: { pullPolicy: 'Always' } },
          migrations: { image: { repository: 'acme/migrate', tag: '2', pullPolicy: 'Never' } },
        },
      });
      for (const c of migrate(own)) {
        assert.equal(c.imagePullPolicy, 'Never', c.object);
        assert.equal(c.image, 'acme/migrate:2');
      }
    });

    it('when global.imageRegistry is set, then every app image and the simulators come from it; the old imageRegistry wins while set', async () => {
      const apps = (objects: KubeObject[]) => [
        ...containers(objects)
          .filter((c) => c.image.includes('telemetrypulse/'))
          .map((c) => c.image),
        simulatorEnv(objects, 'SIMULATOR_IMAGE') ?? '',
      ];
      const global = await renderChart(helm, {
        values: { global: { imageRegistry: 'ghcr.io/acme/' } },
      });
      assert.ok(apps(global).length >= 5);
      for (const image of apps(global)) assert.match(image, /^ghcr\.io\/acme\/telemetrypulse\//);
      const old = await renderChart(helm, {
        values: { imageRegistry: 'old.example', global: { imageRegistry: 'ghcr.io/acme' } },
      });
      for (const image of apps(old)) assert.match(image, /^old\.example\/telemetrypulse\//);
      for (const image of apps(defaults)) assert.match(image, /^telemetrypulse\//);
    });
  });

  describe('service accounts', () => {
    const accounts = (objects: KubeObject[]) => objects.filter((o) => o.kind === 'ServiceAccount');
    const runsAs = (objects: KubeObject[], name: string) =>
      deployment(objects, name).template.spec.serviceAccountName;

    it('with the defaults, then each app runs as its own account; only the operator mounts a token', () => {
      for (const component of COMPONENTS) {
        const name = `telemetrypulse-${component}`;
        assert.equal(runsAs(defaults, name), name);
        const automount = deployment(defaults, name).template.spec.automountServiceAccountToken;
        assert.equal(automount, component === 'operator' ? undefined : false);
      }
    });

    it("when an account is named and annotated, then it is made so, the pods run as it and the operator's bindings name it", async () => {
      const identity = { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/tp' };
      const objects = await renderChart(helm, {
        values: {
          api: { serviceAccount: { annotations: identity } },
          operator: { serviceAccount: { name: 'site-operator' } },
        },
      });
      const api = accounts(objects).find((o) => o.metadata.name === 'telemetrypulse-api');
      assert.deepEqual(api?.metadata.annotations, identity);
      assert.equal(runsAs(objects, 'telemetrypulse-operator'), 'site-operator');
      assert.ok(names(objects).includes('ServiceAccount/site-operator'));
      const bindings = objects.filter((o) => o.kind === 'RoleBinding');
      assert.equal(bindings.length, 2);
      for (const binding of bindings) {
        const subjects = (binding as unknown as { subjects: { name: string }[] }).subjects;
        assert.deepEqual(
          subjects.map((s) => s.name),
          ['site-operator'],
        );
      }
    });

    it('when create is false, then no account is made and the pods run as the one named, else default', async () => {
      const objects = await renderChart(helm, {
        values: {
          api: { serviceAccount: { create: false, name: 'shared-reader' } },
          processor: { serviceAccount: { create: false } },
          operator: { serviceAccount: { create: false, name: 'platform-operator' } },
        },
      });
      assert.deepEqual(accounts(objects), []);
      assert.equal(runsAs(objects, 'telemetrypulse-api'), 'shared-reader');
      assert.equal(runsAs(objects, 'telemetrypulse-processor'), 'default');
      assert.equal(runsAs(objects, 'telemetrypulse-operator'), 'platform-operator');
    });

    it("when the operator's account is not made and not named, then the chart refuses to bind its RBAC to default", async () => {
      const result = await helmTemplate(helm, {
        values: { operator: { serviceAccount: { create: false } } },
      });
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /operator\.serviceAccount\.name is required/);
    });
  });

  describe('probes and the drain', () => {
    type Probe = { httpGet?: { path: string } };
    type Drained = {
      terminationGracePeriodSeconds?: number;
      containers: {
        name: string;
        startupProbe?: Probe;
        livenessProbe?: Probe;
        readinessProbe?: Probe;
        lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command: string[] } } };
      }[];
    };
    const podOf = (objects: KubeObject[], component: string) =>
      deployment(objects, `telemetrypulse-${component}`).template.spec as unknown as Drained;

    it('then every app is probed on /livez (startup, liveness) and /readyz (readiness)', () => {
      for (const component of COMPONENTS) {
        const [container] = podOf(defaults, component).containers;
        assert.deepEqual(
          [
            container?.startupProbe?.httpGet?.path,
            container?.livenessProbe?.httpGet?.path,
            container?.readinessProbe?.httpGet?.path,
          ],
          ['/livez', '/livez', '/readyz'],
          component,
        );
      }
    });

    it("then the API waits api.preStopSleepSeconds (5) in preStop, with the kubelet's sleep from Kubernetes 1.30 on, and its grace period covers the wait and the drain", async () => {
      const pod = podOf(await renderChart(helm, { kubeVersion: '1.30.0' }), 'api');
      assert.deepEqual(pod.containers[0]?.lifecycle, { preStop: { sleep: { seconds: 5 } } });
      assert.equal(pod.terminationGracePeriodSeconds, 35);
      // Nothing sends requests to the processor or the operator: they drain without a wait.
      for (const component of ['processor', 'operator'])
        assert.equal(podOf(defaults, component).containers[0]?.lifecycle, undefined, component);
    });

    it('when the cluster is older than Kubernetes 1.30, then the wait runs node in the container; 0 turns it off', async () => {
      const older = podOf(await renderChart(helm, { kubeVersion: '1.29.0' }), 'api');
      assert.deepEqual(older.containers[0]?.lifecycle?.preStop?.exec?.command, [
        'node',
        '-e',
        'setTimeout(() => {}, 5000)',
      ]);
      const off = podOf(
        await renderChart(helm, { values: { api: { preStopSleepSeconds: 0 } } }),
        'api',
      );
      assert.equal(off.containers[0]?.lifecycle, undefined);
      assert.equal(off.terminationGracePeriodSeconds, 30);
    });
  });

  describe('the schema', () => {
    const cases = [
      { values: { nameOverride: 'Telemetry' }, message: /\/nameOverride/ },
      { values: { fullnameOverride: 7 }, message: /\/fullnameOverride/ },
      { values: { api: { replicaCount: 'two' } }, message: /\/api\/replicaCount/ },
      {
        values: { processor: { podLabels: { tier: 1 } } },
        message: /\/processor\/podLabels\/tier/,
      },
      { values: { operator: { podAnnotations: [] } }, message: /\/operator\/podAnnotations/ },
      { values: { api: { priorityClassName: 5 } }, message: /\/api\/priorityClassName/ },
      {
        values: { api: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone' }] } },
        message: /\/api\/topologySpreadConstraints\/0/,
      },
      { values: { api: { image: { pullPolicy: 'always' } } }, message: /\/api\/image\/pullPolicy/ },
      {
        values: { migrations: { image: { pullPolicy: 'Sometimes' } } },
        message: /\/migrations\/image\/pullPolicy/,
      },
      { values: { global: { imageRegistry: 'a b' } }, message: /\/global\/imageRegistry/ },
      {
        values: { processor: { serviceAccount: { name: 'Not_A_Name' } } },
        message: /\/processor\/serviceAccount\/name/,
      },
      {
        values: { api: { serviceAccount: { annotations: { team: 1 } } } },
        message: /\/api\/serviceAccount\/annotations\/team/,
      },
      { values: { api: { preStopSleepSeconds: -1 } }, message: /\/api\/preStopSleepSeconds/ },
      { values: { api: { preStopSleepSeconds: '5s' } }, message: /\/api\/preStopSleepSeconds/ },
    ];
    for (const { values, message } of cases) {
      it(`refuses ${JSON.stringify(values)}`, async () => {
        const result = await helmTemplate(helm, { values });
        assert.notEqual(result.code, 0, `accepted ${JSON.stringify(values)}`);
        assert.match(result.stderr, message);
      });
    }
  });
});

// helm template prints no NOTES.txt: a dry-run install against the testbed's API server does.
describe('Helm chart: deprecation notes on a real kube-apiserver', function () {
  this.timeout(TESTBED_START_TIMEOUT_MS);
  let testbed: Testbed;
  let helm: string;

  before(async function () {
    this.timeout(TESTBED_START_TIMEOUT_MS);
    [testbed, helm] = await Promise.all([useTestbed(), ensureHelm()]);
  });

  const notes = async (sets: string[]) => {
    const args = ['install', 'telemetrypulse', CHART_DIR, '--namespace', 'default'];
    // No Sites: a dry run does not install the CRD they need.
    args.push(
      '--dry-run=server',
      '--set-json',
      'sites={"site-01":null,"site-02":null,"site-03":null}',
    );
    const result = await runHelm(helm, [...args, ...sets.flatMap((set) => ['--set', set])], {
      KUBECONFIG: testbed.kubeconfigPath,
    });
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.slice(result.stdout.indexOf('NOTES:'));
  };

  it('when an old replicas key is set, then the notes name its new key; with replicaCount they say nothing', async () => {
    const old = await notes(['api.replicas=1', 'operator.replicas=1']);
    assert.match(old, /Deprecated: api\.replicas is now api\.replicaCount/);
    assert.match(old, /Deprecated: operator\.replicas is now operator\.replicaCount/);
    assert.doesNotMatch(old, /processor\.replicas/);
    const current = await notes(['api.replicaCount=1']);
    assert.match(current, /Check the release/);
    assert.doesNotMatch(current, /Deprecated/);
  });

  it('when the old imageRegistry is set, then the notes name global.imageRegistry', async () => {
    assert.match(
      await notes(['imageRegistry=ghcr.io/acme']),
      /Deprecated: imageRegistry is now global\.imageRegistry/,
    );
    assert.doesNotMatch(await notes(['global.imageRegistry=ghcr.io/acme']), /Deprecated/);
  });
});
