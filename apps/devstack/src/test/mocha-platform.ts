// Mocha global fixtures: one real Kafka broker and one real PostgreSQL for the whole test run,
// on free loopback ports in a temporary folder, stopped when the run ends.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startKafkaBroker, type KafkaBroker } from '../kafka-broker.ts';
import { freePort } from '../ports.ts';
import { startPostgresServer, type PostgresServer } from '../postgres-server.ts';

let kafka: KafkaBroker | undefined;
let postgresServer: PostgresServer | undefined;
let dir: string | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  dir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-test-'));
  const [kafkaPort, controllerPort, pgPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  // PostgreSQL runs as an unprivileged user when we are root: it must be able to enter the folder.
  chmodSync(dir, 0o755);
  const [kafkaResult, pgResult] = await Promise.allSettled([
    startKafkaBroker({
      dir: path.join(dir, 'kafka'),
      port: kafkaPort,
      controllerPort,
      heapMb: 1024,
    }),
    startPostgresServer({ dataDir: path.join(dir, 'pg'), port: pgPort }),
  ]);
  if (kafkaResult.status === 'fulfilled') kafka = kafkaResult.value;
  if (pgResult.status === 'fulfilled') postgresServer = pgResult.value;
  if (!kafka || !postgresServer) {
    await mochaGlobalTeardown();
    const failed = [kafkaResult, pgResult].find((r) => r.status === 'rejected');
    throw failed?.reason ?? new Error('test platform did not start');
  }
  process.env.TEST_KAFKA_BROKERS = kafka.brokers;
  process.env.TEST_POSTGRES_ADMIN_URL = postgresServer.urlFor('postgres');
  console.log(`test platform: Kafka ${kafka.brokers}, PostgreSQL 127.0.0.1:${pgPort}`);
}

export async function mochaGlobalTeardown(): Promise<void> {
  await Promise.allSettled([kafka?.stop(), postgresServer?.stop()]);
  // Keep the folder when asked, to read the broker's log after a failure.
  if (dir && !process.env.KEEP_TEST_PLATFORM) rmSync(dir, { recursive: true, force: true });
}
