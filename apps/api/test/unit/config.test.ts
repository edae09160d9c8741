import assert from 'node:assert/strict';
import { ConfigError, describeEnv } from '@telemetrypulse/shared';
import { authOptionsFrom } from '../../src/http/auth.ts';
import { ApiConfigSchema, corsOrigins, loadConfig } from '../../src/config.ts';

describe('api config', () => {
  it('when nothing is set, then the API listens on 0.0.0.0:8000 like the original system', () => {
    const config = loadConfig({});
    assert.equal(config.HTTP_HOST, '0.0.0.0');
    assert.equal(config.HTTP_PORT, 8000);
    assert.equal(config.LOG_LEVEL, 'info');
  });

  it('when variables are set, then they are coerced to their types', () => {
    const config = loadConfig({ HTTP_PORT: '9000', READINESS_TIMEOUT_MS: '250' });
    assert.equal(config.HTTP_PORT, 9000);
    assert.equal(config.READINESS_TIMEOUT_MS, 250);
  });

  it('when a variable is invalid, then startup fails naming it', () => {
    assert.throws(
      () => loadConfig({ HTTP_PORT: 'eighty' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /HTTP_PORT/);
        return true;
      },
    );
  });

  it('when help is printed, then every variable appears with its default', () => {
    const help = describeEnv(ApiConfigSchema.properties);
    for (const name of Object.keys(ApiConfigSchema.properties))
      assert.match(help, new RegExp(name));
    assert.match(help, /HTTP_PORT\s+default 8000/);
  });

  it('when nothing is set, then reads are open, no key may write, and CORS is off', () => {
    const config = loadConfig({});
    assert.deepEqual(authOptionsFrom(config), { writeKeys: [], readKeys: [], readAuth: 'open' });
    assert.deepEqual(corsOrigins(config), []);
    assert.equal(config.RATE_LIMIT_PER_MINUTE, 1200);
  });

  it('when nothing is set, then no X-Forwarded-For is trusted and both rate limits are on', () => {
    const config = loadConfig({});
    // A client reaching the API without a proxy must not pick its own address.
    assert.equal(config.TRUST_PROXY_HOPS, 0);
    assert.equal(config.RATE_LIMIT_PER_KEY_PER_MINUTE, 6000);
  });

  it('when keys and origins come as comma-separated lists (a mounted Secret), then they are split', () => {
    const config = loadConfig({
      API_KEYS: 'k1, k2,',
      READ_API_KEYS: 'r1',
      READ_AUTH: 'key',
      CORS_ORIGINS: 'https://a.example,https://b.example',
    });
    assert.deepEqual(authOptionsFrom(config), {
      writeKeys: ['k1', 'k2'],
      readKeys: ['r1'],
      readAuth: 'key',
    });
    assert.deepEqual(corsOrigins(config), ['https://a.example', 'https://b.example']);
    assert.equal(corsOrigins(loadConfig({ CORS_ORIGINS: '*' })), '*');
  });

  it('when RESPONSE_COMPRESSION is unset, then it is on; when neither on nor off, then startup fails naming it', () => {
    assert.equal(loadConfig({}).RESPONSE_COMPRESSION, 'on');
    assert.equal(loadConfig({ RESPONSE_COMPRESSION: 'off' }).RESPONSE_COMPRESSION, 'off');
    assert.throws(() => loadConfig({ RESPONSE_COMPRESSION: 'gzip' }), /RESPONSE_COMPRESSION/);
  });

  it('when READ_AUTH is neither open nor key, then startup fails naming it', () => {
    assert.throws(() => loadConfig({ READ_AUTH: 'sometimes' }), /READ_AUTH/);
  });

  it('when the drain would not fit in the shutdown, then startup fails naming both', () => {
    assert.equal(loadConfig({}).SHUTDOWN_DRAIN_MS, 2000);
    assert.doesNotThrow(() =>
      loadConfig({ SHUTDOWN_DRAIN_MS: '60000', SHUTDOWN_TIMEOUT_MS: '70000' }),
    );
    assert.throws(
      () => loadConfig({ SHUTDOWN_DRAIN_MS: '20000' }),
      /SHUTDOWN_DRAIN_MS \(20000\) must be below SHUTDOWN_TIMEOUT_MS \(25000\) - 5000/,
    );
  });
});
