// Property-based fuzzing from the API's own OpenAPI document: schemathesis (pinned, from PyPI)
// sends generated valid and invalid requests to the API as main.ts runs it, on the suite's real
// Kafka and PostgreSQL, and fails on any server error or answer the document does not allow.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MINUTE_MS, type Sql } from '@telemetrypulse/shared';
import {
  createTestDatabase,
  createTestTopics,
  freePort,
  type NodeProcess,
  spawnNode,
  testBrokers,
  type TestDatabase,
} from '@telemetrypulse/devstack/test';
// The test kit does not export its tool installs (yet): this one is reached by path.
import { ensureSchemathesis } from '@telemetrypulse/devstack/tools/schemathesis';
import { insertAlerts, insertRawEvents } from '../support.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const WRITE_KEY = 'fuzz-write-key';
/** Fixed, so a failure is reproduced by running the test again. */
const SEED = 20_260_416;
const MAX_EXAMPLES = 200;
/** This seed and count generate about 5,000 cases; far fewer means a run cut short. */
const MIN_CASES = 3000;
const CONFIG = fileURLToPath(new URL('fuzz.schemathesis.toml', import.meta.url));

interface Finished {
  code: number | null;
  output: string;
}

function run(command: string[], cwd: string): Promise<Finished> {
  const [file = '', ...args] = command;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ code, output });
    });
  });
}

/**
 * A site, a device's readings and alerts of every status, so the stateful phase (which follows
 * the ids list answers return) reaches past the 404s into acknowledge, resolve and the views.
 */
async function seed(sql: Sql): Promise<void> {
  const recent = (minutesAgo: number) =>
    new Date(Date.now() - minutesAgo * MINUTE_MS).toISOString();
  const device = { device_id: 'site-01-zone-01-dev-01', site_id: 'site-01', zone_id: 'zone-01' };
  await sql`insert into sites (site_id, display_name, last_event_at)
            values ('site-01', 'Head office', ${recent(5)})`;
  await insertRawEvents(sql, [
    { ...device, sensor_type: 'co2', value: 1200, ts_event: recent(10) },
    { ...device, sensor_type: 'temperature', value: 22.5, ts_event: recent(9) },
  ]);
  await insertAlerts(
    sql,
    (['open', 'acknowledged', 'resolved', 'open'] as const).map((status, i) => ({
      site_id: 'site-01',
      zone_id: `zone-0${i + 1}`,
      sensor_type: 'co2',
      alert_type: 'CO2_HIGH',
      threshold: 1000,
      value: 1200 + i,
      triggered_at: recent(30 - i),
      status,
    })),
  );
}

/** "Selected: 20/21", "Tested: 20", "1234 generated": what the run's summary says it did. */
function summaryOf(output: string): { selected: number; tested: number; cases: number } {
  const number = (pattern: RegExp) => Number(pattern.exec(output)?.[1] ?? Number.NaN);
  return {
    selected: number(/Selected: (\d+)\//),
    tested: number(/Tested: (\d+)/),
    cases: number(/(\d+) generated/),
  };
}

describe('fuzzing the API from its OpenAPI document (schemathesis)', function () {
  // Installing schemathesis the first time takes a minute (make tools does it before); the run
  // about one and a half on two cores.
  this.timeout(8 * 60_000);
  let db: TestDatabase | undefined;
  let api: NodeProcess | undefined;
  let workDir: string | undefined;
  let baseUrl: string;

  before(async () => {
    await ensureSchemathesis();
    db = await createTestDatabase();
    await seed(db.sql);
    const topics = await createTestTopics(1);
    const port = await freePort();
    api = spawnNode(MAIN, {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: testBrokers(),
      EVENTS_TOPIC: topics.events,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(port),
      API_KEYS: WRITE_KEY,
      // Thousands of requests from one address: the fuzzer would only see 429s.
      RATE_LIMIT_PER_MINUTE: '0',
      RATE_LIMIT_PER_KEY_PER_MINUTE: '0',
      LOG_LEVEL: 'info',
    });
    await api.waitForOutput(/"msg":"api listening"/, 'the API listening');
    baseUrl = `http://127.0.0.1:${port}`;
    workDir = await mkdtemp(path.join(tmpdir(), 'tp-fuzz-'));
  });

  after(async () => {
    await api?.kill();
    await db?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('when schemathesis runs every check on generated requests, then it finds no server error and no answer the document contradicts', async () => {
    const command = await ensureSchemathesis();
    const result = await run(
      [
        ...command,
        '--config-file',
        CONFIG,
        'run',
        `${baseUrl}/openapi.json`,
        '--checks',
        'all',
        '--max-examples',
        String(MAX_EXAMPLES),
        '--seed',
        String(SEED),
        '--header',
        `Authorization: Bearer ${WRITE_KEY}`,
        // The live stream never ends; its own tests cover it.
        '--exclude-path',
        '/api/v1/live',
        // One worker: hypothesis's source inspection is not thread-safe on every Python
        // ("AST constructor recursion depth mismatch" with two).
        '--workers',
        '1',
        '--request-timeout',
        '30',
        '--generation-database',
        'none',
        '--no-color',
      ],
      workDir ?? tmpdir(),
    );
    const failures = () =>
      `${result.output}\nthe API's error lines:\n${(api?.logLines() ?? [])
        .filter((line) => line.msg === 'request failed')
        .map((line) => JSON.stringify(line))
        .join('\n')}`;
    assert.equal(result.code, 0, `schemathesis found problems:\n${failures()}`);
    // A run that tested nothing would pass too: it must have reached every selected operation.
    const { selected, tested, cases } = summaryOf(result.output);
    assert.ok(selected >= 19 && tested === selected, result.output);
    assert.ok(cases >= MIN_CASES, `only ${cases} cases:\n${result.output}`);
    console.log(`      schemathesis: ${cases} cases on ${tested} operations, seed ${SEED}`);
  });
});
