/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   client-node's models are classes only for its serializer, which reads plain objects as well. */
import assert from 'node:assert/strict';
import { parseSite, SITE_API_VERSION, SITE_KIND } from '@telemetrypulse/shared';
import { loadConfig as loadSimulatorConfig } from '@telemetrypulse/simulator/testing';
import { desiredDeployment, type SimulatorDefaults } from '../../../src/reconcile/desired.ts';

const DEFAULTS: SimulatorDefaults = {
  image: 'telemetrypulse/simulator:0.1.0',
  imagePullPolicy: 'IfNotPresent',
  imagePullSecrets: ['registry-cred'],
  kafkaBrokers: 'redpanda:9092',
  eventsTopic: 'plant.telemetry',
  logLevel: 'debug',
  resources: { requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '256Mi' } },
};
const OWNER = { name: 'hq', namespace: 'plant', uid: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' };

function site(spec: Record<string, unknown>) {
  return parseSite({
    apiVersion: SITE_API_VERSION,
    kind: SITE_KIND,
    metadata: { name: 'hq' },
    spec,
  });
}

function container(spec: Record<string, unknown>) {
  const c = desiredDeployment(site(spec), OWNER, DEFAULTS).spec?.template.spec?.containers[0];
  assert.ok(c);
  return c;
}

describe('operator desired Deployment', () => {
  it('when a Site has defaults only, then sim-<site> runs one simulator owned by the Site', () => {
    const deployment = desiredDeployment(site({}), OWNER, DEFAULTS);
    const metadata = deployment.metadata!;
    const spec = deployment.spec!;
    assert.equal(metadata.name, 'sim-hq');
    assert.equal(metadata.namespace, 'plant');
    assert.equal(spec.replicas, 1);
    assert.deepEqual(metadata.ownerReferences, [
      {
        apiVersion: 'telemetrypulse.io/v1alpha1',
        kind: 'Site',
        name: 'hq',
        uid: OWNER.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.deepEqual(metadata.labels, {
      'app.kubernetes.io/name': 'telemetrypulse-simulator',
      'app.kubernetes.io/instance': 'hq',
      'app.kubernetes.io/component': 'simulator',
      'app.kubernetes.io/part-of': 'telemetrypulse',
      'app.kubernetes.io/managed-by': 'telemetrypulse-operator',
    });
    assert.deepEqual(spec.selector.matchLabels, {
      'app.kubernetes.io/name': 'telemetrypulse-simulator',
      'app.kubernetes.io/instance': 'hq',
    });
    assert.deepEqual(spec.template.metadata!.labels, metadata.labels);
    assert.equal(spec.strategy!.type, 'Recreate');
    assert.deepEqual(spec.template.spec!.imagePullSecrets, [{ name: 'registry-cred' }]);
  });

  it("when a Site is given, then the simulator gets its zones, devices, rate and sensors plus the operator's brokers, topic and log level", () => {
    const env = container({
      zoneNames: ['lobby', 'floor-2'],
      devicesPerZone: 4,
      eventsPerSecond: 2.5,
      sensors: ['co2'],
    }).env;
    assert.deepEqual(env, [
      { name: 'SITE_ID', value: 'hq' },
      { name: 'SITE_ZONES', value: 'lobby,floor-2' },
      { name: 'DEVICES_PER_ZONE', value: '4' },
      { name: 'EVENTS_PER_SECOND', value: '2.5' },
      { name: 'SENSORS', value: 'co2' },
      { name: 'KAFKA_BROKERS', value: 'redpanda:9092' },
      { name: 'EVENTS_TOPIC', value: 'plant.telemetry' },
      { name: 'HTTP_PORT', value: '9470' },
      { name: 'LOG_LEVEL', value: 'debug' },
    ]);
  });

  it('when the operator has no OTLP endpoint, then the simulator gets no OTEL variables', () => {
    const names = (container({}).env ?? []).map((e) => e.name);
    assert.deepEqual(
      names.filter((name) => name.startsWith('OTEL_')),
      [],
    );
    const emptyEndpoint = desiredDeployment(site({}), OWNER, { ...DEFAULTS, otlpEndpoint: '' });
    assert.deepEqual(
      emptyEndpoint.spec!.template.spec!.containers[0]!.env,
      container({}).env,
      'an empty endpoint is no endpoint',
    );
  });

  it('when the operator has an OTLP endpoint, then the simulator exports traces to it as service simulator', () => {
    const c = desiredDeployment(site({}), OWNER, {
      ...DEFAULTS,
      otlpEndpoint: 'http://otel-collector.monitoring:4318',
    }).spec!.template.spec!.containers[0]!;
    const otel = (c.env ?? []).filter((e) => e.name.startsWith('OTEL_'));
    assert.deepEqual(otel, [
      { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://otel-collector.monitoring:4318' },
      { name: 'OTEL_SERVICE_NAME', value: 'simulator' },
    ]);
  });

  it('when the simulator reads the env it is given, then it publishes to that topic at that level', () => {
    const env = Object.fromEntries(
      (container({ zones: 2 }).env ?? []).map((e) => [e.name, e.value]),
    );
    const config = loadSimulatorConfig(env);
    assert.equal(config.EVENTS_TOPIC, 'plant.telemetry');
    assert.equal(config.LOG_LEVEL, 'debug');
    assert.equal(config.KAFKA_BROKERS, 'redpanda:9092');
    assert.equal(config.HTTP_PORT, 9470);
    assert.deepEqual(config.SITE_ZONES, ['zone-01', 'zone-02']);
  });

  it("when one of the operator's simulator settings changes, then the pod template changes (the simulators roll)", () => {
    const before = desiredDeployment(site({}), OWNER, DEFAULTS).spec!.template;
    for (const change of [
      { eventsTopic: 'renamed.events' },
      { logLevel: 'warn' },
      { otlpEndpoint: 'http://collector:4318' },
    ]) {
      const after = desiredDeployment(site({}), OWNER, { ...DEFAULTS, ...change }).spec!.template;
      assert.notDeepEqual(after, before, JSON.stringify(change));
    }
  });

  it('when a Site is paused, then it has 0 replicas and keeps everything else', () => {
    const running = desiredDeployment(site({}), OWNER, DEFAULTS).spec!;
    const paused = desiredDeployment(site({ paused: true }), OWNER, DEFAULTS).spec!;
    assert.equal(paused.replicas, 0);
    assert.deepEqual(paused.template, running.template);
  });

  it('when a Site overrides image and resources, then those win and the other defaults stay', () => {
    const c = container({
      simulator: {
        image: 'registry.example/sim:2',
        resources: { requests: { cpu: 1 }, limits: { cpu: '2', memory: '1Gi' } },
      },
    });
    assert.equal(c.image, 'registry.example/sim:2');
    assert.deepEqual(c.resources, {
      requests: { cpu: '1', memory: '96Mi' },
      limits: { cpu: '2', memory: '1Gi' },
    });
    assert.equal(container({}).image, DEFAULTS.image);
    assert.deepEqual(container({}).resources, DEFAULTS.resources);
  });

  it('when the pod is built, then it runs locked down and is probed on the simulator ops port', () => {
    const pod = desiredDeployment(site({}), OWNER, DEFAULTS).spec!.template.spec!;
    const c = container({});
    assert.equal(pod.securityContext!.runAsNonRoot, true);
    assert.equal(pod.securityContext!.seccompProfile!.type, 'RuntimeDefault');
    assert.equal(pod.automountServiceAccountToken, false);
    assert.deepEqual(c.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    assert.deepEqual(c.ports, [{ name: 'metrics', containerPort: 9470, protocol: 'TCP' }]);
    assert.equal(c.livenessProbe!.httpGet!.path, '/livez');
    assert.equal(c.readinessProbe!.httpGet!.path, '/readyz');
    assert.equal(c.readinessProbe!.httpGet!.port, 'metrics');
  });

  it("when no pod settings are given, then the pod template has only the operator's labels and no scheduling fields", () => {
    const template = desiredDeployment(site({}), OWNER, DEFAULTS).spec!.template;
    assert.equal(template.metadata!.annotations, undefined);
    for (const field of ['priorityClassName', 'nodeSelector', 'tolerations', 'affinity'] as const)
      assert.equal(template.spec![field], undefined, field);
    assert.equal(template.spec!.topologySpreadConstraints, undefined);
  });

  it("when pod settings are given, then every simulator's pod gets them; the operator's labels win a clash and a spread constraint without selector counts all simulators", () => {
    const affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'pool', operator: 'In', values: ['iot'] }] },
          ],
        },
      },
    };
    const template = desiredDeployment(site({}), OWNER, {
      ...DEFAULTS,
      pod: {
        labels: { team: 'iot', 'app.kubernetes.io/instance': 'other' },
        annotations: { 'example.com/owner': 'facilities' },
        priorityClassName: 'low',
        nodeSelector: { 'kubernetes.io/arch': 'arm64' },
        tolerations: [{ key: 'edge', operator: 'Exists', effect: 'NoSchedule' }],
        affinity,
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway' },
          {
            maxSkew: 2,
            topologyKey: 'host',
            whenUnsatisfiable: 'DoNotSchedule',
            labelSelector: { matchLabels: { team: 'iot' } },
          },
        ],
      },
    }).spec!.template;
    assert.equal(template.metadata!.labels!.team, 'iot');
    assert.equal(template.metadata!.labels!['app.kubernetes.io/instance'], 'hq');
    assert.deepEqual(template.metadata!.annotations, { 'example.com/owner': 'facilities' });
    const pod = template.spec!;
    assert.equal(pod.priorityClassName, 'low');
    assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/arch': 'arm64' });
    assert.deepEqual(pod.tolerations, [{ key: 'edge', operator: 'Exists', effect: 'NoSchedule' }]);
    assert.deepEqual(pod.affinity, affinity);
    assert.deepEqual(pod.topologySpreadConstraints, [
      {
        maxSkew: 1,
        topologyKey: 'zone',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: {
          matchLabels: {
            'app.kubernetes.io/name': 'telemetrypulse-simulator',
            'app.kubernetes.io/managed-by': 'telemetrypulse-operator',
          },
        },
      },
      {
        maxSkew: 2,
        topologyKey: 'host',
        whenUnsatisfiable: 'DoNotSchedule',
        labelSelector: { matchLabels: { team: 'iot' } },
      },
    ]);
    // The locked-down settings are the operator's, whatever the pod settings say.
    assert.equal(pod.securityContext!.runAsNonRoot, true);
  });
});
