import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import {
  ConfigError,
  commonEnv,
  databaseEnv,
  describeEnv,
  kafkaEnv,
  opsEnv,
  readConfig,
  splitList,
} from '../../src/config.ts';

const Schema = Type.Object({
  ...commonEnv,
  ...kafkaEnv,
  ...databaseEnv,
  ...opsEnv(9000),
  BATCH_SIZE: Type.Integer({ minimum: 1, default: 500, description: 'events per batch' }),
  RATIO: Type.Number({ minimum: 0, maximum: 1, default: 0.5 }),
  DRY_RUN: Type.Boolean({ default: false }),
});

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    readConfig(Schema, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected readConfig to throw');
}

describe('config', () => {
  describe('readConfig', () => {
    it('when nothing is set, then every default is filled in', () => {
      assert.deepEqual(readConfig(Schema, {}), {
        LOG_LEVEL: 'info',
        SHUTDOWN_TIMEOUT_MS: 25_000,
        KAFKA_BROKERS: '127.0.0.1:19092',
        DATABASE_URL: 'postgres://telemetry:telemetry@127.0.0.1:55432/telemetry',
        DATABASE_POOL_SIZE: 10,
        HTTP_HOST: '0.0.0.0',
        HTTP_PORT: 9000,
        BATCH_SIZE: 500,
        RATIO: 0.5,
        DRY_RUN: false,
      });
    });

    it('when variables are set as strings, then numbers and booleans are coerced', () => {
      const config = readConfig(Schema, {
        HTTP_PORT: '8080',
        RATIO: '0.25',
        DRY_RUN: 'true',
        LOG_LEVEL: 'debug',
        KAFKA_CLIENT_ID: 'me',
      });
      assert.equal(config.HTTP_PORT, 8080);
      assert.equal(config.RATIO, 0.25);
      assert.equal(config.DRY_RUN, true);
      assert.equal(config.LOG_LEVEL, 'debug');
      assert.equal(config.KAFKA_CLIENT_ID, 'me');
    });

    it('when a variable is empty, then it counts as unset', () => {
      const config = readConfig(Schema, { HTTP_PORT: '', KAFKA_CLIENT_ID: '' });
      assert.equal(config.HTTP_PORT, 9000);
      assert.equal('KAFKA_CLIENT_ID' in config, false);
    });

    it('when variables outside the schema are set, then they are ignored', () => {
      const config = readConfig(Schema, { PATH: '/usr/bin', HOME: '/root' });
      assert.equal('PATH' in config, false);
    });

    it('when several variables are bad, then one ConfigError lists each by name with its value', () => {
      const error = configError({
        HTTP_PORT: 'eighty',
        BATCH_SIZE: '0',
        RATIO: '1.5',
        SHUTDOWN_TIMEOUT_MS: '2.5',
      });
      assert.equal(error.name, 'ConfigError');
      const lines = error.message.split('\n');
      assert.equal(lines[0], 'invalid configuration:');
      assert.deepEqual(lines.slice(1).sort(), [
        '  BATCH_SIZE must be >= 1 (got 0)',
        '  HTTP_PORT must be integer (got "eighty")',
        '  RATIO must be <= 1 (got 1.5)',
        '  SHUTDOWN_TIMEOUT_MS must be integer (got "2.5")',
      ]);
    });

    it('when LOG_LEVEL is unknown, then one line names it and lists the allowed levels', () => {
      const error = configError({ LOG_LEVEL: 'loud' });
      assert.equal(
        error.message,
        'invalid configuration:\n' +
          '  LOG_LEVEL must be equal to one of the allowed values: ' +
          'fatal, error, warn, info, debug, trace, silent (got "loud")',
      );
    });

    it('when a required variable without default is missing, then the error names it', () => {
      const error = (() => {
        try {
          readConfig(Type.Object({ SECRET: Type.String() }), {});
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /SECRET must have required property 'SECRET'/);
    });
  });

  describe('splitList', () => {
    it('when a list has spaces and empty items, then they are trimmed away', () => {
      assert.deepEqual(splitList(' a:9092, b:9092 ,,'), ['a:9092', 'b:9092']);
      assert.deepEqual(splitList(''), []);
    });
  });

  describe('describeEnv', () => {
    it('when help is printed, then every variable appears with its default, what it accepts and its description', () => {
      const help = describeEnv(Schema.properties);
      const lines = help.trimEnd().split('\n');
      assert.equal(lines[0], 'Environment variables:');
      assert.deepEqual(
        lines.slice(1).map((line) => line.trim().split(/\s+/)[0]),
        Object.keys(Schema.properties),
      );
      assert.match(
        help,
        /^ {2}LOG_LEVEL {20}default "info" {2}\[fatal, error, warn, info, debug, trace, silent\] {2}lowest level/m,
      );
      assert.match(
        help,
        /^ {2}HTTP_PORT\s+default 9000 {2}\[integer 0–65535\] {2}port of \/metrics/m,
      );
      assert.match(help, /^ {2}BATCH_SIZE\s+default 500 {2}\[integer ≥ 1\] {2}events per batch$/m);
      assert.match(help, /^ {2}KAFKA_CLIENT_ID\s+default \(unset\) {2}Kafka client id/m);
      assert.match(help, /^ {2}RATIO\s+default 0\.5 {2}\[number 0–1\]$/m);
      assert.match(help, /^ {2}DRY_RUN\s+default false {2}\[true, false\]$/m);
      assert.ok(help.endsWith('\n'));
    });
  });
});
