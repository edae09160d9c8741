// The chart's settings the simulators need go through the operator's environment: rendered with
// the real helm binary, then read by the operator's own config and desired-state function, so a
// renamed topic or a tracing endpoint is followed all the way to a simulator's env.
import assert from 'node:assert/strict';
import { parseSite, SITE_API_VERSION, SITE_KIND, TOPICS } from '@telemetrypulse/shared';
import { desiredDeployment, loadConfig, simulatorDefaults } from '@telemetrypulse/operator/testing';
import { findObject, renderChart, type KubeObject } from '../../../src/chart/render.ts';
import { ensureHelm } from '../../../src/tools/helm.ts';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

function env(objects: KubeObject[], component: string): EnvVar[] {
  const object = findObject(objects, 'Deployment', `telemetrypulse-${component}`);
  const spec = object.spec as { template: { spec: { containers: { env?: EnvVar[] }[] } } };
  return spec.template.spec.containers[0]?.env ?? [];
}

function valueOf(vars: EnvVar[], name: string): string | undefined {
  return vars.find((e) => e.name === name)?.value;
}

/** The simulator Deployment the rendered operator would make for a Site. */
function simulatorDeployment(operatorEnv: EnvVar[]) {
  const plain = Object.fromEntries(
    operatorEnv.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
  );
  // Set from the pod (fieldRef) in the cluster; the operator refuses nothing without it.
  const config = loadConfig({ ...plain, POD_NAME: 'operator-0' });
  const site = parseSite({
    apiVersion: SITE_API_VERSION,
    kind: SITE_KIND,
    metadata: { name: 'site-01' },
    spec: {},
  });
  const owner = { name: 'site-01', namespace: 'telemetrypulse', uid: 'uid-1' };
  return desiredDeployment(site, owner, simulatorDefaults(config));
}

/** The env of the simulator the rendered operator would run for a Site. */
function simulatorEnv(operatorEnv: EnvVar[]): Record<string, string | undefined> {
  const vars = simulatorDeployment(operatorEnv).spec?.template.spec?.containers[0]?.env ?? [];
  return Object.fromEntries(vars.map((e) => [e.name, e.value]));
}

describe("Helm chart: the simulators' settings reach them through the operator", function () {
  this.timeout(10 * 60_000);
  let helm: string;

  before(async () => {
    helm = await ensureHelm();
  });

  it('when rendered with the defaults, then the simulators publish to the topic the processor reads, without traces', async () => {
    const objects = await renderChart(helm);
    const operator = env(objects, 'operator');
    assert.equal(valueOf(operator, 'SIMULATOR_EVENTS_TOPIC'), TOPICS.events);
    assert.equal(valueOf(operator, 'SIMULATOR_LOG_LEVEL'), 'info');
    assert.equal(valueOf(operator, 'SIMULATOR_OTEL_EXPORTER_OTLP_ENDPOINT'), undefined);

    const simulator = simulatorEnv(operator);
    assert.equal(simulator.EVENTS_TOPIC, valueOf(env(objects, 'processor'), 'EVENTS_TOPIC'));
    assert.equal(simulator.KAFKA_BROKERS, valueOf(operator, 'KAFKA_BROKERS'));
    assert.equal(simulator.LOG_LEVEL, 'info');
    assert.deepEqual(
      Object.keys(simulator).filter((name) => name.startsWith('OTEL_')),
      [],
    );
  });

  it('when the events topic, tracing endpoint and log level are set, then the operator gets them and passes them to every simulator', async () => {
    const objects = await renderChart(helm, {
      values: {
        kafka: { topics: { events: 'x' } },
        tracing: { otlpEndpoint: 'http://c:4318' },
        logLevel: 'debug',
      },
    });
    const operator = env(objects, 'operator');
    assert.equal(valueOf(operator, 'SIMULATOR_EVENTS_TOPIC'), 'x');
    assert.equal(valueOf(operator, 'SIMULATOR_OTEL_EXPORTER_OTLP_ENDPOINT'), 'http://c:4318');
    assert.equal(valueOf(operator, 'SIMULATOR_LOG_LEVEL'), 'debug');

    const processor = env(objects, 'processor');
    assert.equal(valueOf(processor, 'EVENTS_TOPIC'), 'x');
    const simulator = simulatorEnv(operator);
    // What KEDA watches the lag of is what the simulators write to.
    assert.equal(simulator.EVENTS_TOPIC, valueOf(processor, 'EVENTS_TOPIC'));
    assert.equal(simulator.LOG_LEVEL, 'debug');
    // Like the chart's own apps: the endpoint, and the app's name as the service name.
    assert.equal(
      simulator.OTEL_EXPORTER_OTLP_ENDPOINT,
      valueOf(processor, 'OTEL_EXPORTER_OTLP_ENDPOINT'),
    );
    assert.equal(valueOf(processor, 'OTEL_SERVICE_NAME'), 'processor');
    assert.equal(simulator.OTEL_SERVICE_NAME, 'simulator');
  });

  it("when the simulators' pod settings are set, then the operator gets them and every simulator's pod has them; unset, the operator gets none", async () => {
    assert.equal(valueOf(env(await renderChart(helm), 'operator'), 'SIMULATOR_POD'), undefined);
    const objects = await renderChart(helm, {
      values: {
        simulator: {
          podLabels: { team: 'iot' },
          podAnnotations: { 'example.com/owner': 'facilities' },
          priorityClassName: 'low',
          nodeSelector: { pool: 'edge' },
          tolerations: [{ key: 'edge', operator: 'Exists', effect: 'NoSchedule' }],
          topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway' },
          ],
        },
      },
    });
    const template = simulatorDeployment(env(objects, 'operator')).spec!.template;
    const pod = template.spec!;
    assert.equal(template.metadata!.labels!.team, 'iot');
    assert.deepEqual(template.metadata!.annotations, { 'example.com/owner': 'facilities' });
    assert.equal(pod.priorityClassName, 'low');
    assert.deepEqual(pod.nodeSelector, { pool: 'edge' });
    assert.deepEqual(pod.tolerations, [{ key: 'edge', operator: 'Exists', effect: 'NoSchedule' }]);
    assert.equal(pod.topologySpreadConstraints![0]!.topologyKey, 'zone');
    assert.ok(pod.topologySpreadConstraints![0]!.labelSelector);
  });
});
