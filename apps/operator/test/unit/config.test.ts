import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.ts';
import { simulatorDefaults } from '../../src/operator.ts';

describe('operator config', () => {
  it('when nothing is set, then every namespace is watched with leader election and no registry', () => {
    const config = loadConfig({});
    assert.equal(config.WATCH_NAMESPACE, '');
    assert.equal(config.LEADER_ELECTION, true);
    assert.equal(config.DATABASE_URL, undefined);
    assert.deepEqual(config.IMAGE_PULL_SECRETS, []);
    assert.equal(config.LEASE_NAME, 'telemetrypulse-operator');
    assert.ok(config.POD_NAME.length > 0);
  });

  it('when nothing is set for the simulators, then they publish to telemetry.events at info, without traces', () => {
    const defaults = simulatorDefaults(loadConfig({}));
    assert.equal(defaults.kafkaBrokers, '127.0.0.1:19092');
    assert.equal(defaults.eventsTopic, 'telemetry.events');
    assert.equal(defaults.logLevel, 'info');
    assert.equal(defaults.otlpEndpoint, undefined);
  });

  it("when the simulators' topic, log level and OTLP endpoint are set, then every simulator gets them", () => {
    const defaults = simulatorDefaults(
      loadConfig({
        KAFKA_BROKERS: 'kafka-0:9092,kafka-1:9092',
        SIMULATOR_EVENTS_TOPIC: 'plant.telemetry-events_v2',
        SIMULATOR_LOG_LEVEL: 'debug',
        SIMULATOR_OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.monitoring:4318',
      }),
    );
    assert.equal(defaults.kafkaBrokers, 'kafka-0:9092,kafka-1:9092');
    assert.equal(defaults.eventsTopic, 'plant.telemetry-events_v2');
    assert.equal(defaults.logLevel, 'debug');
    assert.equal(defaults.otlpEndpoint, 'http://otel-collector.monitoring:4318');
  });

  it('when variables are set, then they are typed and lists are split', () => {
    const config = loadConfig({
      WATCH_NAMESPACE: 'plant',
      IMAGE_PULL_SECRETS: 'one, two',
      LEADER_ELECTION: 'false',
      LEASE_DURATION_SECONDS: '4',
      LEASE_RENEW_DEADLINE_SECONDS: '3',
      LEASE_RETRY_SECONDS: '0.5',
      POD_NAME: 'operator-0',
    });
    assert.equal(config.WATCH_NAMESPACE, 'plant');
    assert.equal(config.LEASE_NAMESPACE, 'plant');
    assert.deepEqual(config.IMAGE_PULL_SECRETS, ['one', 'two']);
    assert.equal(config.LEADER_ELECTION, false);
    assert.equal(config.LEASE_RETRY_SECONDS, 0.5);
    assert.equal(config.POD_NAME, 'operator-0');
  });

  it('when lease timings contradict each other, then the config is refused with the reason', () => {
    assert.throws(
      () => loadConfig({ LEASE_DURATION_SECONDS: '5', LEASE_RENEW_DEADLINE_SECONDS: '5' }),
      /LEASE_RENEW_DEADLINE_SECONDS must be below LEASE_DURATION_SECONDS/,
    );
    assert.throws(
      () => loadConfig({ LEASE_RENEW_DEADLINE_SECONDS: '2', LEASE_RETRY_SECONDS: '2' }),
      /LEASE_RETRY_SECONDS must be below LEASE_RENEW_DEADLINE_SECONDS/,
    );
  });

  it('when a value is malformed, then the config is refused naming the variable', () => {
    assert.throws(() => loadConfig({ SIMULATOR_CPU_REQUEST: 'lots' }), /SIMULATOR_CPU_REQUEST/);
    assert.throws(() => loadConfig({ IMAGE_PULL_SECRETS: 'Bad_Name' }), /IMAGE_PULL_SECRETS/);
    assert.throws(() => loadConfig({ LEASE_NAMESPACE: 'No' }), /LEASE_NAMESPACE/);
    assert.throws(
      () => loadConfig({ SIMULATOR_EVENTS_TOPIC: 'telemetry events' }),
      /SIMULATOR_EVENTS_TOPIC/,
    );
    assert.throws(() => loadConfig({ SIMULATOR_LOG_LEVEL: 'verbose' }), /SIMULATOR_LOG_LEVEL/);
    assert.throws(
      () => loadConfig({ SIMULATOR_OTEL_EXPORTER_OTLP_ENDPOINT: 'otel-collector:4318' }),
      /SIMULATOR_OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
  });

  it("when the Site policy is not set, then Sites may run SIMULATOR_IMAGE's repository within 1 cpu, 1Gi and 1000 events/s", () => {
    const config = loadConfig({ SIMULATOR_IMAGE: 'reg.example:5000/tp/simulator:0.3.0' });
    assert.deepEqual(config.SITE_ALLOWED_IMAGES, ['reg.example:5000/tp/simulator']);
    assert.equal(config.SITE_MAX_CPU, '1');
    assert.equal(config.SITE_MAX_MEMORY, '1Gi');
    assert.equal(config.SITE_MAX_EVENTS_PER_SECOND, 1000);
  });

  it('when the Site policy is set, then registries, prefixes and references are kept, and a bad entry or a default above a cap is refused naming the setting', () => {
    assert.deepEqual(
      loadConfig({ SITE_ALLOWED_IMAGES: 'reg.example:5000/, reg.example/team/, busybox:1.36' })
        .SITE_ALLOWED_IMAGES,
      ['reg.example:5000/', 'reg.example/team/', 'busybox:1.36'],
    );
    assert.throws(
      () => loadConfig({ SITE_ALLOWED_IMAGES: 'reg.example/team/, Not An Image' }),
      /SITE_ALLOWED_IMAGES has "Not An Image"/,
    );
    assert.throws(
      () => loadConfig({ SITE_MAX_MEMORY: '128Mi' }),
      /the simulator default limits.memory 256Mi is above SITE_MAX_MEMORY/,
    );
  });

  it('when SIMULATOR_POD is set, then the simulators get its pod settings; JSON that is not an object of known keys is refused naming the setting', () => {
    assert.deepEqual(simulatorDefaults(loadConfig({})).pod, {});
    const pod = {
      labels: { team: 'iot' },
      priorityClassName: 'low',
      tolerations: [{ key: 'edge', operator: 'Exists' }],
    };
    assert.deepEqual(
      simulatorDefaults(loadConfig({ SIMULATOR_POD: JSON.stringify(pod) })).pod,
      pod,
    );
    assert.throws(() => loadConfig({ SIMULATOR_POD: '{labels:' }), /SIMULATOR_POD is not JSON/);
    assert.throws(
      () => loadConfig({ SIMULATOR_POD: '{"labels":{"team":1}}' }),
      /SIMULATOR_POD\/labels\/team must be string/,
    );
    assert.throws(
      () => loadConfig({ SIMULATOR_POD: '{"hostNetwork":true}' }),
      /SIMULATOR_POD must NOT have additional properties/,
    );
  });
});
