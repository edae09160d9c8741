// The startup wait with a fake clock: sleep only advances it, so nothing here really waits and
// no assertion depends on how fast the machine is.
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import kafkajs from 'kafkajs';
import postgres from 'postgres';
import { ConfigError, readConfig, startupEnv, startupWait } from '../../src/config.ts';
import { classifyPostgresError, createSql, postgresTarget } from '../../src/db.ts';
import { brokerList, classifyKafkaError } from '../../src/kafka.ts';
import { exitOnStartupFailure } from '../../src/shutdown.ts';
import {
  backoffDelayMs,
  classifyNetworkError,
  DependencyError,
  NotReadyYet,
  StartupAborted,
  waitForDependency,
  type WaitOptions,
} from '../../src/wait.ts';
import { recordingLogger } from '@telemetrypulse/devstack/test';

// kafkajs spreads its error classes into module.exports: Node cannot see them as named exports.
const {
  KafkaJSConnectionError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
} = kafkajs;

/** A clock that only sleep moves; every requested pause is recorded. */
function fakeClock(): {
  options: Pick<WaitOptions, 'now' | 'sleep'>;
  sleeps: number[];
  onSleep: (hook: () => void) => void;
} {
  let time = 1_000_000;
  const sleeps: number[] = [];
  let hook: () => void = () => undefined;
  return {
    sleeps,
    onSleep: (h) => {
      hook = h;
    },
    options: {
      now: () => time,
      sleep: (ms) => {
        sleeps.push(ms);
        time += ms;
        hook();
        return Promise.resolve();
      },
    },
  };
}

const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

/** A probe that fails with `failures` errors in turn, then succeeds; counts its calls. */
function probeFailing(failures: (() => Error)[]): {
  probe: () => Promise<void>;
  calls: () => number;
} {
  let calls = 0;
  return {
    calls: () => calls,
    probe: () => {
      const failure = failures[calls++];
      return failure ? Promise.reject(failure()) : Promise.resolve();
    },
  };
}

function pgError(code: string, message: string): Error {
  // postgres.js builds its server errors from the fields of the ErrorResponse message.
  const PostgresError = postgres.PostgresError as unknown as new (fields: object) => Error;
  return new PostgresError({ code, message, severity: 'FATAL' });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

describe('startup wait', () => {
  describe('backoffDelayMs', () => {
    it('when attempts fail in a row, then the pause doubles from 250 ms and stays at 4 s', () => {
      assert.deepEqual(
        [1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffDelayMs(n)),
        [250, 500, 1000, 2000, 4000, 4000, 4000, 4000],
      );
    });

    it('when base and cap are given, then they are used', () => {
      assert.deepEqual(
        [1, 2, 3].map((n) => backoffDelayMs(n, 100, 300)),
        [100, 200, 300],
      );
    });
  });

  describe('waitForDependency', () => {
    it('when the dependency answers at once, then it returns without pausing or warning', async () => {
      const { logger, lines } = recordingLogger();
      const clock = fakeClock();
      const { probe, calls } = probeFailing([]);
      await waitForDependency('PostgreSQL', 'db:5432/app', probe, {
        logger,
        timeoutMs: 60_000,
        ...clock.options,
      });
      assert.equal(calls(), 1);
      assert.deepEqual(clock.sleeps, []);
      assert.deepEqual(
        lines.filter((l) => l.level !== 'debug'),
        [],
      );
    });

    it('when connections are refused a few times, then it logs each attempt with target, code and pause, backs off, and returns once one succeeds', async () => {
      const { logger, lines } = recordingLogger();
      const clock = fakeClock();
      const { probe, calls } = probeFailing([refused, refused, refused]);

      await waitForDependency('PostgreSQL', 'db:5432/app', probe, {
        logger,
        timeoutMs: 60_000,
        ...clock.options,
      });

      assert.equal(calls(), 4);
      assert.deepEqual(clock.sleeps, [250, 500, 1000]);
      const waiting = lines.filter((l) => l.level === 'warn');
      assert.deepEqual(
        waiting.map((l) => [l.dependency, l.target, l.attempt, l.code, l.nextTryInMs]),
        [
          ['PostgreSQL', 'db:5432/app', 1, 'ECONNREFUSED', 250],
          ['PostgreSQL', 'db:5432/app', 2, 'ECONNREFUSED', 500],
          ['PostgreSQL', 'db:5432/app', 3, 'ECONNREFUSED', 1000],
        ],
      );
      assert.equal(
        waiting[0]?.msg,
        'waiting for PostgreSQL at db:5432/app: attempt 1 failed (connect ECONNREFUSED 127.0.0.1:5432); next try in 250 ms',
      );
      const up = lines.filter((l) => l.level === 'info');
      assert.deepEqual(
        up.map((l) => [l.msg, l.attempt]),
        [['PostgreSQL at db:5432/app is up', 4]],
      );
    });

    it('when the server is starting up (57P03), then that code is logged and retried', async () => {
      const { logger, lines } = recordingLogger();
      const clock = fakeClock();
      const { probe } = probeFailing([
        () => pgError('57P03', 'the database system is starting up'),
      ]);
      await waitForDependency('PostgreSQL', 'db:5432/app', probe, {
        logger,
        timeoutMs: 60_000,
        classify: classifyPostgresError,
        ...clock.options,
      });
      const [line] = lines.filter((l) => l.level === 'warn');
      assert.ok(line);
      assert.equal(line.code, '57P03');
      assert.match(line.msg, /\(57P03: the database system is starting up\)/);
    });

    it('when it keeps failing, then the last pause is cut to the bound and it gives up with a DependencyError naming target, bound and last error', async () => {
      const { logger } = recordingLogger();
      const clock = fakeClock();
      const { probe, calls } = probeFailing(Array.from({ length: 100 }, () => refused));

      const error = await rejection(
        waitForDependency('Kafka', 'kafka:9092', probe, {
          logger,
          timeoutMs: 10_000,
          timeoutSetting: 'STARTUP_WAIT_SECONDS',
          ...clock.options,
        }),
      );

      assert.ok(error instanceof DependencyError);
      assert.equal(error.kind, 'timeout');
      assert.equal(error.code, 'ECONNREFUSED');
      assert.equal(error.dependency, 'Kafka');
      assert.equal(error.target, 'kafka:9092');
      // 250 + 500 + 1000 + 2000 + 4000 = 7750, then what is left of the 10 s.
      assert.deepEqual(clock.sleeps, [250, 500, 1000, 2000, 4000, 2250]);
      assert.equal(calls(), 7);
      assert.equal(error.attempts, 7);
      assert.equal(
        error.message,
        'Kafka at kafka:9092 is not available: gave up after 7 attempts in 10 s (STARTUP_WAIT_SECONDS=10); last error connect ECONNREFUSED 127.0.0.1:5432',
      );
    });

    it('when the bound is 0, then the first refusal ends the wait without a pause', async () => {
      const { logger, lines } = recordingLogger();
      const clock = fakeClock();
      const { probe, calls } = probeFailing([refused]);

      const error = await rejection(
        waitForDependency('PostgreSQL', 'db:5432/app', probe, {
          logger,
          timeoutMs: 0,
          ...clock.options,
        }),
      );

      assert.ok(error instanceof DependencyError);
      assert.equal(error.kind, 'timeout');
      assert.equal(calls(), 1);
      assert.deepEqual(clock.sleeps, []);
      assert.match(error.message, /STARTUP_WAIT_SECONDS=0: not waiting; last error .*ECONNREFUSED/);
      assert.deepEqual(
        lines.filter((l) => l.level === 'warn'),
        [],
      );
    });

    for (const [code, message, hint] of [
      [
        '28P01',
        'password authentication failed for user "telemetry"',
        /check the user and password in DATABASE_URL/,
      ],
      ['3D000', 'database "nope" does not exist', /check the database name in DATABASE_URL/],
    ] as const) {
      it(`when the server answers ${code}, then it fails at once with that code and a hint, without retrying`, async () => {
        const { logger, lines } = recordingLogger();
        const clock = fakeClock();
        const { probe, calls } = probeFailing([() => pgError(code, message), refused]);

        const error = await rejection(
          waitForDependency('PostgreSQL', 'db:5432/app', probe, {
            logger,
            timeoutMs: 60_000,
            classify: classifyPostgresError,
            ...clock.options,
          }),
        );

        assert.ok(error instanceof DependencyError);
        assert.equal(error.kind, 'final');
        assert.equal(error.code, code);
        assert.equal(calls(), 1);
        assert.deepEqual(clock.sleeps, []);
        assert.ok(
          error.message.startsWith('PostgreSQL at db:5432/app failed in a way retrying cannot fix'),
        );
        assert.ok(error.message.includes(`${code}: ${message}`));
        assert.match(error.message, hint);
        assert.deepEqual(
          lines.filter((l) => l.level === 'warn'),
          [],
        );
      });
    }

    it('when the signal fires during a pause, then it stops with StartupAborted and tries no more', async () => {
      const { logger } = recordingLogger();
      const clock = fakeClock();
      const stop = new AbortController();
      clock.onSleep(() => {
        stop.abort();
      });
      const { probe, calls } = probeFailing(Array.from({ length: 10 }, () => refused));

      const error = await rejection(
        waitForDependency('PostgreSQL', 'db:5432/app', probe, {
          logger,
          timeoutMs: 60_000,
          signal: stop.signal,
          ...clock.options,
        }),
      );

      assert.ok(error instanceof StartupAborted);
      assert.equal(calls(), 1);
    });

    it('when the signal fires during an attempt that hangs, then it stops with StartupAborted without waiting for it', async () => {
      const { logger } = recordingLogger();
      const stop = new AbortController();
      const hanging = () => {
        queueMicrotask(() => {
          stop.abort();
        });
        return new Promise<void>(() => undefined);
      };
      const error = await rejection(
        waitForDependency('PostgreSQL', 'db:5432/app', hanging, {
          logger,
          timeoutMs: 60_000,
          signal: stop.signal,
          ...fakeClock().options,
        }),
      );
      assert.ok(error instanceof StartupAborted);
      assert.match(error.message, /stopped while waiting for PostgreSQL at db:5432\/app/);
    });

    it('when the signal has fired before, then no attempt is made', async () => {
      const { probe, calls } = probeFailing([]);
      const error = await rejection(
        waitForDependency('PostgreSQL', 'db:5432/app', probe, {
          logger: recordingLogger().logger,
          timeoutMs: 60_000,
          signal: AbortSignal.abort(),
          ...fakeClock().options,
        }),
      );
      assert.ok(error instanceof StartupAborted);
      assert.equal(calls(), 0);
    });

    it('when an attempt gets no answer within attemptTimeoutMs, then it counts as ATTEMPT_TIMEOUT and is retried', async () => {
      const { logger, lines } = recordingLogger();
      let calls = 0;
      const probe = () => (++calls === 1 ? new Promise<void>(() => undefined) : Promise.resolve());
      await waitForDependency('Kafka', 'kafka:9092', probe, {
        logger,
        timeoutMs: 60_000,
        attemptTimeoutMs: 1,
        ...fakeClock().options,
      });
      assert.equal(calls, 2);
      assert.deepEqual(
        lines.filter((l) => l.level === 'warn').map((l) => l.code),
        ['ATTEMPT_TIMEOUT'],
      );
    });
  });

  describe('classifying failures', () => {
    it('when the error is a network failure or our own not-yet, then it is retried with its code', () => {
      for (const code of [
        'ECONNREFUSED',
        'ENOTFOUND',
        'EAI_AGAIN',
        'ETIMEDOUT',
        'ECONNRESET',
        'EHOSTUNREACH',
      ]) {
        assert.deepEqual(classifyNetworkError(Object.assign(new Error(code), { code })), {
          retry: true,
          code,
        });
      }
      assert.deepEqual(classifyNetworkError(new NotReadyYet('no brokers', 'NO_BROKERS')), {
        retry: true,
        code: 'NO_BROKERS',
      });
    });

    it('when the error is anything else, then it is final, named by its code or class', () => {
      assert.deepEqual(classifyNetworkError(new TypeError('x is not a function')), {
        retry: false,
        code: 'TypeError',
      });
      assert.deepEqual(
        classifyNetworkError(Object.assign(new Error('bad'), { code: 'ERR_INVALID_URL' })),
        { retry: false, code: 'ERR_INVALID_URL' },
      );
    });

    it('when PostgreSQL is starting, restarting, full or the connection broke, then it is retried', () => {
      for (const code of ['57P03', '57P01', '57P02', '53300', '08006', '08001']) {
        assert.equal(classifyPostgresError(pgError(code, 'x')).retry, true, code);
      }
      for (const code of ['CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'ECONNREFUSED', 'ENOTFOUND']) {
        const verdict = classifyPostgresError(Object.assign(new Error(code), { code }));
        assert.deepEqual(verdict, { retry: true, code });
      }
    });

    it('when PostgreSQL rejects the login or the database, then it is final, with a hint where one helps', () => {
      assert.deepEqual(classifyPostgresError(pgError('28P01', 'x')), {
        retry: false,
        code: '28P01',
        hint: 'check the user and password in DATABASE_URL',
      });
      assert.equal(classifyPostgresError(pgError('3D000', 'x')).retry, false);
      assert.equal(classifyPostgresError(pgError('28000', 'x')).retry, false);
      assert.deepEqual(classifyPostgresError(pgError('42501', 'x')), {
        retry: false,
        code: '42501',
      });
    });

    it('when kafkajs gave up on a refused or unresolvable broker, then the code inside its wrappers is retried', () => {
      for (const code of ['ECONNREFUSED', 'ENOTFOUND']) {
        const inner = new KafkaJSConnectionError(`Connection error: connect ${code}`, {
          broker: 'kafka:9092',
          code,
        });
        const wrapped = new KafkaJSNumberOfRetriesExceeded(inner, {
          retryCount: 0,
          retryTime: 300,
        });
        assert.deepEqual(classifyKafkaError(wrapped), { retry: true, code });
      }
    });

    it('when kafkajs times out or the broker is not ready, then it is retried; SASL and non-retriable protocol errors are final', () => {
      const timeout = new KafkaJSNumberOfRetriesExceeded(
        new KafkaJSConnectionError('Connection timeout', { broker: 'kafka:9092' }),
        { retryCount: 0, retryTime: 300 },
      );
      assert.deepEqual(classifyKafkaError(timeout), { retry: true, code: 'CONNECTION_ERROR' });
      const leader = new KafkaJSProtocolError(
        Object.assign(new Error('no leader'), { type: 'LEADER_NOT_AVAILABLE', retriable: true }),
      );
      assert.deepEqual(classifyKafkaError(leader), { retry: true, code: 'LEADER_NOT_AVAILABLE' });
      const denied = new KafkaJSProtocolError(
        Object.assign(new Error('denied'), {
          type: 'CLUSTER_AUTHORIZATION_FAILED',
          retriable: false,
        }),
      );
      assert.deepEqual(classifyKafkaError(denied), {
        retry: false,
        code: 'CLUSTER_AUTHORIZATION_FAILED',
      });
      // Typed without arguments, built by kafkajs with its message.
      const Sasl = KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;
      const sasl = new Sasl('SASL PLAIN authentication failed: bad credentials');
      assert.equal(classifyKafkaError(sasl).retry, false);
      assert.equal(classifyKafkaError(sasl).code, 'SASL_AUTHENTICATION_FAILED');
    });
  });

  describe('configuration', () => {
    const Schema = Type.Object({ ...startupEnv });

    it('when STARTUP_WAIT_SECONDS is unset, then the wait is bounded at 120 s', () => {
      const config = readConfig(Schema, {});
      assert.equal(config.STARTUP_WAIT_SECONDS, 120);
      assert.deepEqual(startupWait(config), {
        timeoutMs: 120_000,
        timeoutSetting: 'STARTUP_WAIT_SECONDS',
      });
    });

    it('when STARTUP_WAIT_SECONDS is 0, then it is accepted (no wait); negative or fractional values are refused', () => {
      assert.equal(readConfig(Schema, { STARTUP_WAIT_SECONDS: '0' }).STARTUP_WAIT_SECONDS, 0);
      for (const bad of ['-1', '1.5', 'soon']) {
        assert.throws(
          () => readConfig(Schema, { STARTUP_WAIT_SECONDS: bad }),
          (error: unknown) => {
            assert.ok(error instanceof ConfigError);
            assert.match(error.message, /STARTUP_WAIT_SECONDS/);
            return true;
          },
        );
      }
    });

    it('when DATABASE_URL is not a URL, then createSql fails with a ConfigError that does not show it', () => {
      assert.throws(
        () =>
          createSql({
            url: 'postgres://user:s3cret@[broken/db',
            poolSize: 1,
            logger: recordingLogger().logger,
            applicationName: 'test',
          }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, /DATABASE_URL is not a valid URL/);
          assert.doesNotMatch(JSON.stringify(error), /s3cret/);
          assert.doesNotMatch(error.message, /s3cret/);
          return true;
        },
      );
    });

    it('when a pool is described, then host, port and database show and the password does not', async () => {
      const sql = createSql({
        url: 'postgres://user:s3cret@db.example:6543/app',
        poolSize: 1,
        logger: recordingLogger().logger,
        applicationName: 'test',
      });
      assert.equal(postgresTarget(sql), 'db.example:6543/app');
      await sql.end();
    });

    it('when KAFKA_BROKERS lists host:port entries, then they are accepted; an entry without a port is a ConfigError', () => {
      assert.deepEqual(brokerList('kafka-0.kafka:9092, 10.0.0.1:19092,[::1]:9092'), [
        'kafka-0.kafka:9092',
        '10.0.0.1:19092',
        '[::1]:9092',
      ]);
      for (const bad of ['kafka', 'kafka:port', '', 'http://kafka:9092']) {
        assert.throws(() => brokerList(bad), ConfigError, bad);
      }
    });
  });

  describe('exitOnStartupFailure', () => {
    it('when startup was stopped by a signal, then it is no failure: nothing is logged and it does not exit', () => {
      const { logger, lines } = recordingLogger();
      exitOnStartupFailure(logger)(new StartupAborted('stopped while waiting'));
      assert.deepEqual(lines, []);
    });
  });
});
