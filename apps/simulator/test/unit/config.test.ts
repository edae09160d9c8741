import assert from 'node:assert/strict';
import { ConfigError, TOPICS, describeEnv } from '@telemetrypulse/shared';
import { SimulatorConfigSchema, loadConfig } from '../../src/config.ts';

function assertConfigError(env: NodeJS.ProcessEnv, names: RegExp): void {
  assert.throws(
    () => loadConfig(env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, names);
      return true;
    },
  );
}

describe('simulator config', () => {
  it('when nothing is set, then it simulates the default Site of the operator', () => {
    const config = loadConfig({});
    assert.equal(config.SITE_ID, 'site-01');
    assert.deepEqual(config.SITE_ZONES, ['zone-01', 'zone-02', 'zone-03', 'zone-04', 'zone-05']);
    assert.equal(config.DEVICES_PER_ZONE, 3);
    assert.equal(config.EVENTS_PER_SECOND, 5);
    assert.deepEqual(config.SENSORS, ['co2', 'temperature', 'humidity', 'occupancy']);
    assert.equal(config.EVENTS_TOPIC, TOPICS.events);
    assert.equal(config.HTTP_PORT, 9470);
    assert.equal(config.SIM_SEED, undefined);
  });

  it('when variables are set, then lists are split and numbers coerced', () => {
    const config = loadConfig({
      SITE_ID: 'hq',
      SITE_ZONES: 'lobby, floor-2',
      DEVICES_PER_ZONE: '10',
      EVENTS_PER_SECOND: '0.5',
      SENSORS: 'co2,occupancy',
      ANOMALY_RATE: '0',
      SIM_SEED: '42',
    });
    assert.deepEqual(config.SITE_ZONES, ['lobby', 'floor-2']);
    assert.equal(config.DEVICES_PER_ZONE, 10);
    assert.equal(config.EVENTS_PER_SECOND, 0.5);
    assert.deepEqual(config.SENSORS, ['co2', 'occupancy']);
    assert.equal(config.ANOMALY_RATE, 0);
    assert.equal(config.SIM_SEED, 42);
  });

  it('when a number is out of range, then startup fails naming the variable', () => {
    assertConfigError({ EVENTS_PER_SECOND: '60000' }, /EVENTS_PER_SECOND/);
    assertConfigError({ DEVICES_PER_ZONE: '0' }, /DEVICES_PER_ZONE/);
    assertConfigError({ ANOMALY_RATE: '1' }, /ANOMALY_RATE/);
  });

  it('when a sensor type is unknown or repeated, then startup fails naming it', () => {
    assertConfigError({ SENSORS: 'co2,pressure' }, /SENSORS.*pressure/);
    assertConfigError({ SENSORS: 'co2,co2' }, /SENSORS.*co2 twice/);
    assertConfigError({ SENSORS: ' , ' }, /SENSORS lists nothing/);
  });

  it('when a zone is repeated, then startup fails naming it', () => {
    assertConfigError({ SITE_ZONES: 'a,b,a' }, /SITE_ZONES.*a twice/);
  });

  it('when ids would make events the contract rejects, then startup fails', () => {
    assertConfigError({ SITE_ID: 'site one' }, /SITE_ID site one/);
    assertConfigError({ SITE_ZONES: 'zone-01,-bad' }, /zone -bad/);
  });

  it('when help is printed, then every variable appears with its default', () => {
    const help = describeEnv(SimulatorConfigSchema.properties);
    for (const name of Object.keys(SimulatorConfigSchema.properties)) {
      assert.match(help, new RegExp(`^  ${name} `, 'm'));
    }
    assert.match(help, /EVENTS_PER_SECOND\s+default 5/);
    assert.match(help, /SIM_SEED\s+default \(unset\)/);
  });
});
