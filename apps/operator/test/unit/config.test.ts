import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.ts';

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
  });
});
