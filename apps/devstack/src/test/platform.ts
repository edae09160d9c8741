import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startKafkaBroker, type KafkaBroker } from '../kafka-broker.ts';
import { freePorts } from '../ports.ts';
import { startPostgresServer, type PostgresServer } from '../postgres-server.ts';

export interface ThrowawayPlatform {
  kafka: KafkaBroker;
  postgres: PostgresServer;
  stop(): Promise<void>;
}

/**
 * A real Kafka broker and a real PostgreSQL on free loopback ports in a temporary folder, for
 * tests and benchmarks. stop() ends both and deletes the folder (unless KEEP_TEST_PLATFORM is set).
 */
export async function startThrowawayPlatform(): Promise<ThrowawayPlatform> {
  const dir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-test-'));
  // PostgreSQL runs as an unprivileged user when we are root: it must be able to enter the folder.
  chmodSync(dir, 0o755);
  const [kafkaPort = 0, controllerPort = 0, pgPort = 0] = await freePorts(3);
  const [kafka, postgres] = await Promise.allSettled([
    startKafkaBroker({
      dir: path.join(dir, 'kafka'),
      port: kafkaPort,
      controllerPort,
      heapMb: 1024,
    }),
    startPostgresServer({ dataDir: path.join(dir, 'pg'), port: pgPort }),
  ]);
  const stop = async () => {
    await Promise.allSettled([
      kafka.status === 'fulfilled' ? kafka.value.stop() : undefined,
      postgres.status === 'fulfilled' ? postgres.value.stop() : undefined,
    ]);
    // Keep the folder when asked, to read the servers' logs after a failure.
    if (!process.env.KEEP_TEST_PLATFORM) rmSync(dir, { recursive: true, force: true });
  };
  if (kafka.status === 'rejected' || postgres.status === 'rejected') {
    await stop();
    throw kafka.status === 'rejected' ? kafka.reason : (postgres as PromiseRejectedResult).reason;
  }
  return { kafka: kafka.value, postgres: postgres.value, stop };
}
