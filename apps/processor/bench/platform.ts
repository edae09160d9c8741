import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import {
  freePorts,
  startKafkaBroker,
  startPostgresServer,
  type KafkaBroker,
  type PostgresServer,
} from '@telemetrypulse/devstack/test';

export interface BenchPlatform {
  kafka: KafkaBroker;
  postgres: PostgresServer;
  stop(): Promise<void>;
}

/**
 * A throwaway broker and PostgreSQL on loopback, as the test kit's platform, except that
 * PostgreSQL records when each transaction committed (track_commit_timestamp, set before a
 * restart): the latency runs read, for every event, the moment its row and its windows became
 * visible, without polling the database while they measure.
 */
export async function startBenchPlatform(): Promise<BenchPlatform> {
  const dir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-bench-'));
  chmodSync(dir, 0o755); // PostgreSQL runs as an unprivileged user when we are root
  const [kafkaPort = 0, controllerPort = 0, pgPort = 0] = await freePorts(3);
  const pgOptions = { dataDir: path.join(dir, 'pg'), port: pgPort };
  const started: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    await Promise.allSettled(started.map((s) => s.stop()));
    if (!process.env.KEEP_TEST_PLATFORM) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const kafka = await startKafkaBroker({
      dir: path.join(dir, 'kafka'),
      port: kafkaPort,
      controllerPort,
      heapMb: 1024,
    });
    started.push(kafka);
    const first = await startPostgresServer(pgOptions);
    const admin = postgres(first.url, { max: 1, onnotice: () => undefined });
    await admin`alter system set track_commit_timestamp = on`;
    await admin.end();
    await first.stop();
    const pg = await startPostgresServer(pgOptions);
    started.push(pg);
    return { kafka, postgres: pg, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
