// The migration command on a fresh cluster: started before PostgreSQL listens, it waits with one
// log line per attempt and migrates once the server is there; it gives up after
// STARTUP_WAIT_SECONDS, fails at once on what retrying cannot fix and stops at once on SIGTERM.
// No assertion here depends on timing: each step waits for what the process logged.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { createLogger, DependencyError, waitForKafka } from '@telemetrypulse/shared';
import {
  freePort,
  hostPort,
  type NodeProcess,
  type PostgresServer,
  recordingLogger,
  spawnNode,
  startPostgresServer,
  tcpProxy,
} from '@telemetrypulse/devstack/test';

const MIGRATE = fileURLToPath(new URL('../../src/bin/migrate.ts', import.meta.url));

function adminUrl(): string {
  const url = process.env.TEST_POSTGRES_ADMIN_URL;
  if (!url) throw new Error('TEST_POSTGRES_ADMIN_URL is not set: run through mocha');
  return url;
}

function runMigrate(env: Record<string, string>): NodeProcess {
  return spawnNode(MIGRATE, { LOG_LEVEL: 'info', ...env });
}

type Line = Record<string, unknown>;
const waitingLines = (lines: Line[]) =>
  lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('waiting for PostgreSQL'));

describe('migrate waits for PostgreSQL (real server, child process)', () => {
  const started: NodeProcess[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((p) => p.kill()));
  });

  describe('when PostgreSQL starts listening only after the command started', () => {
    let dir: string;
    let server: PostgresServer | undefined;
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-startup-'));
      // PostgreSQL runs as an unprivileged user when we are root: it must be able to enter it.
      chmodSync(dir, 0o755);
    });
    after(async () => {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('then it logs each attempt (target, attempt n, code, next try) and migrates once the server is up', async () => {
      const port = await freePort();
      // The `postgres` database exists from the first moment the server accepts connections.
      const url = `postgres://telemetry:telemetry@127.0.0.1:${port}/postgres`;
      const migrate = runMigrate({ DATABASE_URL: url, STARTUP_WAIT_SECONDS: '600' });
      started.push(migrate);
      // Two refusals seen, so the server really came after the command.
      await migrate.waitForOutput(/"attempt":2,"code":"ECONNREFUSED"/, 'a second refused attempt');

      server = await startPostgresServer({ dataDir: path.join(dir, 'pg'), port });
      assert.equal(await migrate.exited, 0, migrate.output());

      const lines = migrate.logLines();
      const waiting = waitingLines(lines);
      assert.ok(waiting.length >= 2, migrate.output());
      const [first] = waiting;
      assert.ok(first);
      assert.equal(first.level, 'warn');
      assert.equal(first.dependency, 'PostgreSQL');
      assert.equal(first.target, `127.0.0.1:${port}/postgres`);
      assert.equal(first.attempt, 1);
      assert.equal(first.code, 'ECONNREFUSED');
      assert.equal(typeof first.nextTryInMs, 'number');
      assert.match(
        String(first.msg),
        new RegExp(
          `^waiting for PostgreSQL at 127\\.0\\.0\\.1:${port}/postgres: attempt 1 failed \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\); next try in \\d+ ms$`,
        ),
      );
      // Attempts counted up one by one; only codes of a server not there or not ready yet.
      assert.deepEqual(
        waiting.map((l) => l.attempt),
        waiting.map((_l, i) => i + 1),
      );
      for (const line of waiting) assert.match(String(line.code), /^(ECONNREFUSED|57P03)$/);
      assert.ok(lines.some((l) => l.msg === `PostgreSQL at 127.0.0.1:${port}/postgres is up`));
      assert.ok(lines.some((l) => l.msg === 'database is up to date'));
      assert.doesNotMatch(migrate.output(), /telemetry:telemetry@/, 'no password in the log');

      const sql = postgres(url, { max: 1, onnotice: () => undefined });
      try {
        const [row] = await sql<{ n: number }[]>`select count(*)::int as n from schema_migrations`;
        assert.ok((row?.n ?? 0) >= 1);
      } finally {
        await sql.end();
      }
    });
  });

  it('when PostgreSQL never comes within STARTUP_WAIT_SECONDS, then it exits 1 naming what it waited for, the bound and the last error', async () => {
    const port = await freePort();
    const migrate = runMigrate({
      DATABASE_URL: `postgres://telemetry:telemetry@127.0.0.1:${port}/telemetry`,
      STARTUP_WAIT_SECONDS: '1',
    });
    started.push(migrate);
    assert.equal(await migrate.exited, 1, migrate.output());
    const fatal = migrate.logLines().find((l) => l.level === 'fatal');
    assert.ok(fatal, migrate.output());
    assert.match(
      String(fatal.msg),
      new RegExp(
        `^PostgreSQL at 127\\.0\\.0\\.1:${port}/telemetry is not available: gave up after \\d+ attempts in \\d+ s \\(STARTUP_WAIT_SECONDS=1\\); last error connect ECONNREFUSED`,
      ),
    );
    assert.ok(waitingLines(migrate.logLines()).length >= 1);
    assert.ok(!migrate.logLines().some((l) => l.msg === 'database is up to date'));
  });

  it('when STARTUP_WAIT_SECONDS is 0, then the first refused connection ends it with exit 1', async () => {
    const port = await freePort();
    const migrate = runMigrate({
      DATABASE_URL: `postgres://telemetry:telemetry@127.0.0.1:${port}/telemetry`,
      STARTUP_WAIT_SECONDS: '0',
    });
    started.push(migrate);
    assert.equal(await migrate.exited, 1, migrate.output());
    assert.deepEqual(waitingLines(migrate.logLines()), []);
    assert.match(
      migrate.output(),
      /STARTUP_WAIT_SECONDS=0: not waiting; last error connect ECONNREFUSED/,
    );
  });

  for (const [what, change, code] of [
    ['the password is wrong', (url: URL) => (url.password = 'wrong'), '28P01'],
    ['the database does not exist', (url: URL) => (url.pathname = '/no_such_database'), '3D000'],
  ] as const) {
    it(`when ${what}, then it fails at once with ${code}, without a retry`, async () => {
      const url = new URL(adminUrl());
      change(url);
      const migrate = runMigrate({ DATABASE_URL: url.toString(), STARTUP_WAIT_SECONDS: '600' });
      started.push(migrate);
      assert.equal(await migrate.exited, 1, migrate.output());
      assert.deepEqual(waitingLines(migrate.logLines()), [], 'not retried');
      const fatal = migrate.logLines().find((l) => l.level === 'fatal');
      assert.match(
        String(fatal?.msg),
        new RegExp(
          `^PostgreSQL at 127\\.0\\.0\\.1:\\d+/\\w+ failed in a way retrying cannot fix \\(${code}: .+\\); check`,
        ),
      );
      assert.doesNotMatch(
        migrate.output(),
        /telemetry:wrong@|:telemetry@/,
        'no password in the log',
      );
    });
  }

  it('when SIGTERM arrives while it waits, then it stops at once, saying nothing was migrated', async () => {
    const port = await freePort();
    const migrate = runMigrate({
      DATABASE_URL: `postgres://telemetry:telemetry@127.0.0.1:${port}/telemetry`,
      STARTUP_WAIT_SECONDS: '600',
    });
    started.push(migrate);
    await migrate.waitForOutput(/waiting for PostgreSQL/);
    migrate.child.kill('SIGTERM');
    // 128 + 15: the convention for "ended by SIGTERM"; not 0, as nothing was migrated.
    assert.equal(await migrate.exited, 143, migrate.output());
    assert.match(migrate.output(), /SIGTERM while waiting for PostgreSQL: nothing was migrated/);
    assert.ok(!migrate.logLines().some((l) => l.level === 'fatal'));
  });
});

describe('waitForKafka (real broker behind a proxy that opens late)', () => {
  it('when the broker port opens after the wait started, then attempts are logged with ECONNREFUSED and the wait ends once it answers', async () => {
    const broker = process.env.TEST_KAFKA_BROKERS;
    assert.ok(broker, 'TEST_KAFKA_BROKERS is set by the mocha fixtures');
    const port = await freePort();
    const proxy = tcpProxy(port, hostPort(broker));
    const { logger, lines, until } = recordingLogger();
    try {
      const waiting = waitForKafka(`127.0.0.1:${port}`, { logger, timeoutMs: 600_000 });
      // Two refusals seen, so the broker really came after the wait started.
      await until((all) => all.filter((l) => l.level === 'warn').length >= 2);
      await proxy.listen();
      await waiting;
      const warned = lines.filter((l) => l.level === 'warn');
      assert.ok(
        lines.some((l) => l.level === 'info' && l.msg === `Kafka at 127.0.0.1:${port} is up`),
      );
      assert.deepEqual(
        warned.map((l) => [l.dependency, l.target, l.attempt]),
        warned.map((_l, i) => ['Kafka', `127.0.0.1:${port}`, i + 1]),
      );
      const [firstWarned] = warned;
      assert.ok(firstWarned);
      assert.equal(firstWarned.code, 'ECONNREFUSED');
      assert.match(
        firstWarned.msg,
        new RegExp(
          `^waiting for Kafka at 127\\.0\\.0\\.1:${port}: attempt 1 failed \\(.*ECONNREFUSED.*\\); next try in \\d+ ms$`,
        ),
      );
    } finally {
      await proxy.close();
    }
  });

  it('when the bound is 0 and nothing listens, then it fails at once with a DependencyError', async () => {
    const port = await freePort();
    await assert.rejects(
      waitForKafka(`127.0.0.1:${port}`, {
        logger: createLogger('test', 'silent'),
        timeoutMs: 0,
      }),
      (error: unknown) => {
        assert.ok(error instanceof DependencyError);
        assert.equal(error.kind, 'timeout');
        assert.equal(error.code, 'ECONNREFUSED');
        return true;
      },
    );
  });
});
