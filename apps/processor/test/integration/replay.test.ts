import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createLogger, DEFAULT_LIMITS, type TelemetryEvent } from '@telemetrypulse/shared';
import {
  createTestTopics,
  groupCaughtUp,
  produceEvents,
  type RawMessage,
  readRawTopic,
  testBrokers,
  testKafka,
  type TestTopics,
  topicSize,
  usePipelineFixture,
  waitUntil,
} from '@telemetrypulse/devstack/test';
import { sendDeadLetters } from '../../src/ingest/dlq.ts';
import { replayDeadLetters, type ReplayRequest } from '../../src/replay/run.ts';
import { startConsumerOnly, startTestProcessor } from '../support.ts';

const logger = createLogger('test', 'silent');
const REPLAY_BIN = fileURLToPath(new URL('../../src/bin/replay-dlq.ts', import.meta.url));

interface Original {
  key: Buffer | null;
  value: Buffer;
  reason: string;
}

const NOT_UTF8 = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0x7d]);

function original(key: string | null, value: string | Buffer, reason: string): Original {
  return { key: key === null ? null : Buffer.from(key), value: Buffer.from(value), reason };
}

/** Dead-letters messages as the processor does. */
async function deadLetter(topics: TestTopics, originals: readonly Original[]): Promise<void> {
  const producer = testKafka().producer();
  await producer.connect();
  try {
    const letters = originals.map((o, i) => ({
      message: { offset: String(i), key: o.key, value: o.value },
      reason: o.reason,
      source: { topic: topics.events, partition: 0 },
    }));
    await sendDeadLetters(producer, topics.dlq, letters, { maxPayloadBytes: 65_536 });
  } finally {
    await producer.disconnect();
  }
}

/** Every message on the topic, raw bytes, in a stable order (partition order is not). */
async function readAll(topic: string): Promise<RawMessage[]> {
  const messages = await readRawTopic(topic, await topicSize(topic));
  return messages.sort((x, y) =>
    Buffer.compare(x.value ?? Buffer.alloc(0), y.value ?? Buffer.alloc(0)),
  );
}

function keysAndValues(messages: readonly (RawMessage | Original)[]): [string | null, string][] {
  return messages
    .map((m): [string | null, string] => [
      m.key?.toString('hex') ?? null,
      m.value?.toString('hex') ?? '',
    ])
    .sort((a, b) => a[1].localeCompare(b[1]));
}

describe('DLQ replay (real Kafka)', () => {
  let topics: TestTopics;
  let groupId: string;
  const replay = (options: Partial<ReplayRequest> = {}) =>
    replayDeadLetters({
      kafka: testKafka(),
      from: topics.dlq,
      to: topics.events,
      groupId,
      logger,
      ...options,
    });

  beforeEach(async () => {
    // One partition: a produce request can then not half-fail, which is what makes kafkajs resend
    // messages that were already written, and these tests count messages exactly.
    topics = await createTestTopics(1);
    groupId = `replay-${randomUUID()}`;
  });

  it('when dead letters are replayed, then each original is back on the events topic byte for byte with its key, and a second run replays nothing new', async () => {
    const originals = [
      original('dev-1', '{"event_id": "not json — ünïcode', 'malformed JSON: Unterminated string'),
      original('dev-2', NOT_UTF8, 'message is not valid UTF-8'),
      original(null, '{"sensor_type": "co2"}', 'missing field event_id'),
      original('dev-4', '', 'empty message'),
    ];
    await deadLetter(topics, originals);

    const first = await replay();
    assert.equal(first.selected, 4);
    assert.equal(first.stoppedBy, 'end');
    const replayed = await readAll(topics.events);
    assert.deepEqual(keysAndValues(replayed), keysAndValues(originals));
    for (const message of replayed) {
      assert.match(
        message.headers['x-replayed-from'] ?? '',
        new RegExp(`^${topics.dlq}/\\d+/\\d+$`),
      );
    }

    const second = await replay();
    assert.equal(second.read, 0);
    assert.equal(second.selected, 0);
    assert.equal(await topicSize(topics.events), 4);

    // Only what was dead-lettered since the last run goes on the next one.
    const later = original('dev-5', '{"value": "high"}', 'missing field event_id');
    await deadLetter(topics, [later]);
    const third = await replay();
    assert.equal(third.selected, 1);
    assert.deepEqual(
      keysAndValues(await readAll(topics.events)),
      keysAndValues([...originals, later]),
    );
  });

  it('when it is a dry run, then it counts by reason but publishes and commits nothing', async () => {
    await deadLetter(topics, [
      original('a', '{bad', 'malformed JSON: a'),
      original('b', '{worse', 'malformed JSON: b'),
      original('c', '{}', 'value 5001 out of range for co2 (0..5000 ppm)'),
    ]);

    const dry = await replay({ dryRun: true });
    assert.equal(dry.dryRun, true);
    assert.deepEqual([dry.read, dry.selected], [3, 3]);
    const byReason = Object.entries(dry.byReason)
      .map(([label, c]) => [label, c.read, c.selected])
      .sort();
    assert.deepEqual(byReason, [
      ['malformed_json', 2, 2],
      ['out_of_range', 1, 1],
    ]);
    assert.match(dry.byReason.malformed_json?.example ?? '', /^malformed JSON: [ab]$/);
    assert.equal(await topicSize(topics.events), 0);
    const admin = testKafka().admin();
    await admin.connect();
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topics.dlq] });
    await admin.disconnect();
    assert.ok(committed?.partitions.every((p) => p.offset === '-1'));

    // A dry run with a filter counts what that filter would replay.
    const filtered = await replay({ dryRun: true, reason: /out of range/i });
    assert.deepEqual([filtered.read, filtered.selected, filtered.notSelected], [3, 1, 2]);

    const real = await replay();
    assert.equal(real.selected, 3);
    assert.equal(await topicSize(topics.events), 3);
  });

  it('when a reason filter is given, then only matching dead letters are replayed, and the others are passed over for good', async () => {
    const range = [
      original('r1', '{"value": 9001}', 'value 9001 out of range for co2 (0..5000 ppm)'),
      original('r2', '{"value": 101}', 'value 101 out of range for humidity (0..100 %)'),
    ];
    const malformed = [
      original('m1', '{oops', 'malformed JSON: m1'),
      original('m2', '{oops!', 'malformed JSON: m2'),
    ];
    await deadLetter(topics, [range[0]!, malformed[0]!, range[1]!, malformed[1]!]);

    const run = await replay({ reason: /OUT OF RANGE/i });
    assert.deepEqual([run.read, run.selected, run.notSelected], [4, 2, 2]);
    assert.deepEqual(keysAndValues(await readAll(topics.events)), keysAndValues(range));

    assert.equal((await replay()).read, 0);
    // A group of its own starts from the beginning: the way back to what was passed over.
    const fresh = await replay({ groupId: `${groupId}-again`, reason: /malformed/i });
    assert.equal(fresh.selected, 2);
    assert.deepEqual(
      keysAndValues(await readAll(topics.events)),
      keysAndValues([...range, ...malformed]),
    );
  });

  it('when a limit is given, then at most that many are replayed and the next run carries on', async () => {
    const originals = Array.from({ length: 7 }, (_, i) =>
      original(`dev-${i}`, `{"n": ${i}`, `malformed JSON: ${i}`),
    );
    await deadLetter(topics, originals);

    const limited = await replay({ limit: 3 });
    assert.equal(limited.selected, 3);
    assert.equal(limited.stoppedBy, 'limit');
    assert.equal(await topicSize(topics.events), 3);

    const rest = await replay();
    assert.equal(rest.selected, 4);
    assert.deepEqual(keysAndValues(await readAll(topics.events)), keysAndValues(originals));
  });

  it('when the run is aborted before it starts reading, then it stops without replaying', async () => {
    await deadLetter(topics, [original('a', '{bad', 'malformed JSON: a')]);
    const abort = new AbortController();
    abort.abort();
    const run = await replay({ signal: abort.signal });
    assert.equal(run.stoppedBy, 'signal');
    assert.equal(run.selected, 0);
    assert.equal((await replay()).selected, 1);
  });

  it('when a topic does not exist, then the run fails saying which', async () => {
    await assert.rejects(
      replay({ to: `${topics.events}.missing` }),
      /topic .*\.missing does not exist/,
    );
  });

  it('when the DLQ is empty, then the run returns at once', async () => {
    const run = await replay();
    assert.deepEqual([run.read, run.stoppedBy], [0, 'end']);
  });
});

describe('dlq:replay command (real Kafka)', () => {
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [REPLAY_BIN, ...args], {
      env: { ...process.env, KAFKA_BROKERS: testBrokers(), LOG_LEVEL: 'warn' },
    });

  it('when run with --dry-run and then for real, then it prints what it counted and replayed and exits 0', async () => {
    const topics = await createTestTopics(1);
    await deadLetter(topics, [
      original('a', '{bad', 'malformed JSON: a'),
      original('b', NOT_UTF8, 'message is not valid UTF-8'),
    ]);
    const flags = ['--from', topics.dlq, '--to', topics.events, '--group', `cli-${randomUUID()}`];

    const dry = await run([...flags, '--dry-run']);
    assert.match(dry.stdout, /DRY RUN: nothing published or committed/);
    assert.match(
      dry.stdout,
      /read 2, would replay 2, not selected 0, unreadable 0, incomplete \(not replayable\) 0; stopped: end of topic/,
    );
    assert.match(dry.stdout, /^malformed_json +1 +1 +malformed JSON: a$/m);
    assert.match(dry.stdout, /^not_utf8 +1 +1 +message is not valid UTF-8$/m);
    assert.equal(await topicSize(topics.events), 0);

    const real = await run([...flags, '--reason', 'utf-8']);
    assert.match(real.stdout, /read 2, replayed 1, not selected 1/);
    assert.deepEqual(keysAndValues(await readAll(topics.events)), [
      [Buffer.from('b').toString('hex'), NOT_UTF8.toString('hex')],
    ]);
  });

  it('when an option is wrong, then it says so and exits 2 without touching Kafka', async () => {
    await assert.rejects(run(['--limit', 'many']), (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr ?? '', /--limit must be a whole number/);
      return true;
    });
  });
});

describe('DLQ replay after a fix (real Kafka + PostgreSQL + processor)', () => {
  const fx = usePipelineFixture();

  it('when events were rejected by a too strict processor and are replayed after the fix, then they are stored', async () => {
    const base = Date.now() - 2 * 3600_000;
    const events: TelemetryEvent[] = Array.from({ length: 20 }, (_, i) => ({
      event_id: randomUUID(),
      device_id: `site-x-zone-01-dev-0${i % 3}`,
      site_id: 'site-x',
      zone_id: 'zone-01',
      sensor_type: 'temperature',
      value: 21 + i / 10,
      ts_event: new Date(base + i * 1000).toISOString(),
    }));
    await produceEvents(fx.topics.events, events);

    // The bug: events older than an hour are refused.
    const group = `g-${randomUUID()}`;
    const strict = await startConsumerOnly({
      sql: fx.db.sql,
      topics: fx.topics,
      groupId: group,
      limits: { ...DEFAULT_LIMITS, maxAgeMs: 3600_000 },
    });
    await waitUntil('strict processor caught up', () => groupCaughtUp(group, fx.topics.events));
    await strict.stop();
    // At least once: a retried DLQ send may leave copies, which the raw table deduplicates.
    const deadLetters = await topicSize(fx.topics.dlq);
    assert.ok(deadLetters >= events.length);

    const run = await replayDeadLetters({
      kafka: testKafka(),
      from: fx.topics.dlq,
      to: fx.topics.events,
      groupId: `replay-${randomUUID()}`,
      logger,
    });
    assert.equal(run.selected, deadLetters);

    // The fix: the same group carries on from its commits and sees only the replayed copies.
    fx.processors.push(await startTestProcessor(fx.db, fx.topics, group));
    await waitUntil('replayed events stored', async () => {
      const [row] = await fx.db.sql<
        { n: number }[]
      >`select count(*)::int as n from telemetry_events`;
      return row?.n === events.length;
    });
    const stored = await fx.db.sql<{ event_id: string }[]>`select event_id from telemetry_events`;
    assert.deepEqual(stored.map((r) => r.event_id).sort(), events.map((e) => e.event_id).sort());
    assert.equal(await topicSize(fx.topics.dlq), deadLetters, 'nothing rejected after the fix');
  });
});
