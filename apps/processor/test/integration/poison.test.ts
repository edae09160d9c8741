// Messages that once stopped a partition for good, each among valid neighbours on one partition,
// through the real processor on the real Kafka and PostgreSQL: a value the database refuses, NUL
// characters, a message near the broker's size limit, invalid UTF-8, a dead-letter topic that
// refuses the letter. Each time the valid neighbours are stored, the group commits past the
// poison, and the dead-letter topic holds it with its reason (or the loss is counted).
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { Histogram, Registry } from 'prom-client';
import {
  createLogger,
  DEFAULT_ALERT_RULES,
  DEFAULT_LIMITS,
  type TelemetryEvent,
} from '@telemetrypulse/shared';
import {
  groupCaughtUp,
  rawCounts,
  readTopic,
  telemetryEvent,
  testKafka,
  topicSize,
  usePipelineFixture,
  waitUntil,
  windowMismatches,
  type TestDatabase,
  type TestTopics,
} from '@telemetrypulse/devstack/test';
import { timeTransaction } from '../../src/ingest/db-transaction.ts';
import { storeIsolating } from '../../src/ingest/isolate.ts';
import { retryUntilDone } from '../../src/ingest/retry.ts';
import { storeBatch } from '../../src/ingest/store.ts';
import { replayDeadLetters } from '../../src/replay/run.ts';
import { startConsumerOnly } from '../support.ts';

const KEY = 'poison-test-device';
const REFUSED_DEVICE = 'site-px-zone-01-refused';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const valid = (value: number) => telemetryEvent({ site_id: 'site-px', value });

interface Letter {
  error: string;
  original_payload?: string;
  original_payload_base64?: string;
  source_topic: string;
  source_partition: number;
  source_offset: string;
  original_size: number;
  original_sha256: string;
  truncated: boolean;
  payload_dropped?: string;
}

/** Publishes the messages under one key, so on one partition in this order; their offsets. */
async function publish(topic: string, values: readonly Buffer[]): Promise<string[]> {
  const producer = testKafka().producer();
  await producer.connect();
  const offsets: string[] = [];
  try {
    // One at a time: a 1 MB message and its neighbours would not fit one request.
    for (const value of values) {
      const [meta] = await producer.send({ topic, acks: -1, messages: [{ key: KEY, value }] });
      assert.ok(meta?.baseOffset !== undefined);
      offsets.push(meta.baseOffset);
    }
  } finally {
    await producer.disconnect();
  }
  return offsets;
}

async function letters(topic: string, count: number): Promise<Map<string, Letter>> {
  const records = (await readTopic(topic, count)).map((m) => JSON.parse(m.value) as Letter);
  return new Map(records.map((r) => [r.source_offset, r]));
}

async function storedIds(fx: { db: TestDatabase }): Promise<string[]> {
  const rows = await fx.db.sql<{ event_id: string }[]>`
    select event_id::text from telemetry_events order by value`;
  return rows.map((r) => r.event_id);
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  const match = values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x));
  return match?.value ?? 0;
}

/** A processor with its own registry on the test's database, and its topics. */
async function processor(
  fx: ReturnType<typeof usePipelineFixture>,
  options: { topics?: TestTopics; maxBytes?: number; stuckAfterMs?: number } = {},
) {
  const registry = new Registry();
  const groupId = `g-${randomUUID()}`;
  const running = await startConsumerOnly({
    sql: fx.db.sql,
    topics: options.topics ?? fx.topics,
    groupId,
    registry,
    limits: { ...DEFAULT_LIMITS, maxBytes: options.maxBytes ?? DEFAULT_LIMITS.maxBytes },
    ...(options.stuckAfterMs === undefined ? {} : { stuckAfterMs: options.stuckAfterMs }),
  });
  fx.processors.push(running);
  return { registry, groupId, running };
}

/** A dead-letter topic of one partition whose records may be at most `maxBytes`. */
async function smallDeadLetterTopic(fx: ReturnType<typeof usePipelineFixture>, maxBytes: number) {
  const topic = `${fx.topics.dlq}.small`;
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        {
          topic,
          numPartitions: 1,
          configEntries: [{ name: 'max.message.bytes', value: String(maxBytes) }],
        },
      ],
    });
  } finally {
    await admin.disconnect();
  }
  return { ...fx.topics, dlq: topic };
}

describe('poison messages among valid neighbours (real Kafka + PostgreSQL + processor)', () => {
  const fx = usePipelineFixture();

  it('when the database refuses some events, and others hold NUL characters or a UUID spelling PostgreSQL cannot read, then each goes to the DLQ with its reason and the partition moves on', async () => {
    // A rule the contract cannot know: the test's own database refuses one device.
    // DDL takes no parameters; the device id is a constant of this file.
    await fx.db.sql.unsafe(`
      alter table telemetry_events
        add constraint refuse_one_device check (device_id <> '${REFUSED_DEVICE}') not valid`);
    const good = [valid(601), valid(602), valid(603), valid(604)];
    const refused = valid(700);
    refused.device_id = REFUSED_DEVICE;
    const refusedToo = { ...refused, event_id: randomUUID() };
    const messages = [
      { bytes: json(good[0]) },
      {
        bytes: json(refused),
        reason: /^database refused the event \(SQLSTATE 23514\): .*refuse_one_device/,
      },
      {
        bytes: json({ ...valid(710), event_id: `urn:uuid:${randomUUID()}` }),
        reason: /^event_id must be a UUID/,
      },
      { bytes: json(good[1]) },
      { bytes: json({ ...valid(720), device_id: 'dev\u0000ice' }), reason: /^device_id must/ },
      {
        // A raw NUL byte inside a JSON string: not JSON at all.
        bytes: Buffer.from(JSON.stringify(valid(730)).replace('site-px', 'site\u0000px')),
        reason: /^malformed JSON/,
      },
      { bytes: json(good[2]) },
      { bytes: json(refusedToo), reason: /^database refused the event \(SQLSTATE 23514\)/ },
      { bytes: json(good[3]) },
    ];
    const offsets = await publish(
      fx.topics.events,
      messages.map((m) => m.bytes),
    );

    const { registry, groupId } = await processor(fx);
    await waitUntil('the partition committed past every message', () =>
      groupCaughtUp(groupId, fx.topics.events),
    );

    assert.deepEqual(
      await storedIds(fx),
      good.map((e) => e.event_id),
    );
    assert.deepEqual(await windowMismatches(fx.db), []);
    const poisons = messages.filter((m) => m.reason);
    const byOffset = await letters(fx.topics.dlq, poisons.length);
    assert.equal(byOffset.size, poisons.length);
    messages.forEach((m, i) => {
      const letter = byOffset.get(offsets[i] ?? '');
      if (!m.reason) {
        assert.equal(letter, undefined, `valid message ${i} dead-lettered`);
        return;
      }
      assert.ok(letter, `message ${i}: no dead letter`);
      assert.match(letter.error, m.reason);
      assert.equal(letter.truncated, false);
      assert.equal(letter.original_sha256, sha256(m.bytes));
      assert.ok(Buffer.from(letter.original_payload ?? '').equals(m.bytes), `message ${i} bytes`);
    });
    assert.equal(
      await metric(registry, 'telemetry_processor_dlq_messages_total', { reason: 'db_refused' }),
      2,
    );
  });

  it('when events the contract lets through no more reach the store (a UUID PostgreSQL cannot read, a NUL character), then the store finds them and stores the rest', async () => {
    const good = [valid(601), valid(602), valid(603)];
    const group: TelemetryEvent[] = [
      good[0] as TelemetryEvent,
      { ...valid(650), event_id: `urn:uuid:${randomUUID()}` },
      good[1] as TelemetryEvent,
      { ...valid(660), device_id: 'dev\u0000ice' },
      good[2] as TelemetryEvent,
    ];
    const seconds = new Histogram({ name: 'store_seconds', help: 'store', registers: [] });
    const store = (events: TelemetryEvent[]) =>
      timeTransaction(seconds, events.length, () =>
        storeBatch(fx.db.sql, events, DEFAULT_ALERT_RULES),
      );
    const { result, refused } = await storeIsolating(group, store, (work) =>
      retryUntilDone(work, {
        keepGoing: () => false,
        heartbeat: () => Promise.resolve(),
        onRetry: () => undefined,
      }),
    );

    assert.deepEqual(
      refused.map((r) => [r.index, (r.error as { code?: string }).code]),
      [
        [1, '22P02'],
        [3, '22021'],
      ],
    );
    assert.deepEqual(
      result.stored.map((e) => e.event_id),
      good.map((e) => e.event_id),
    );
    assert.deepEqual(
      await storedIds(fx),
      good.map((e) => e.event_id),
    );
    assert.deepEqual(await windowMismatches(fx.db), []);
  });

  it('when a message is near the broker limit and another is large and not UTF-8, then their letters carry the start with the size and digest, and the partition moves on', async () => {
    const good = [valid(601), valid(602), valid(603)];
    // Newlines escape to two bytes each: the whole message in a letter would pass the broker's
    // limit (message.max.bytes, 1 MiB by default) that the message itself is under.
    const near = Buffer.from('{"x": "'.padEnd(1_000_000, 'abc\n'));
    const notUtf8 = Buffer.alloc(300_000, 0xff);
    const messages = [json(good[0]), near, json(good[1]), notUtf8, json(good[2])];
    const offsets = await publish(fx.topics.events, messages);

    // Larger messages than the default 16 KiB are read, so the invalid bytes are the reason.
    const { registry, groupId } = await processor(fx, { maxBytes: 500_000 });
    await waitUntil('the partition committed past every message', () =>
      groupCaughtUp(groupId, fx.topics.events),
    );

    assert.deepEqual(
      await storedIds(fx),
      good.map((e) => e.event_id),
    );
    const byOffset = await letters(fx.topics.dlq, 2);
    const big = byOffset.get(offsets[1] ?? '');
    assert.ok(big);
    assert.equal(big.error, `message of ${near.length} bytes exceeds 500000`);
    assert.deepEqual(
      [big.truncated, big.original_size, big.original_sha256],
      [true, near.length, sha256(near)],
    );
    assert.equal(big.original_payload, near.subarray(0, 65_536).toString());
    const invalid = byOffset.get(offsets[3] ?? '');
    assert.ok(invalid);
    assert.equal(invalid.error, 'message is not valid UTF-8');
    assert.deepEqual(
      [invalid.truncated, invalid.original_size, invalid.original_sha256],
      [true, notUtf8.length, sha256(notUtf8)],
    );
    assert.ok(
      Buffer.from(invalid.original_payload_base64 ?? '', 'base64').equals(
        notUtf8.subarray(0, 65_536),
      ),
    );
    assert.equal(
      await metric(registry, 'telemetry_processor_dlq_reduced_total', { how: 'truncated' }),
      2,
    );

    // The replay says why it cannot put them back.
    const summary = await replayDeadLetters({
      kafka: testKafka(),
      from: fx.topics.dlq,
      to: fx.topics.events,
      groupId: `replay-${randomUUID()}`,
      dryRun: true,
      logger: createLogger('test', 'silent'),
    });
    assert.deepEqual([summary.read, summary.selected, summary.incomplete], [2, 0, 2]);
    assert.match(summary.byReason.incomplete?.example ?? '', /^not replayable: /);
  });

  it('when the dead-letter topic refuses a letter as too large, then the letter goes without its payload and the partition moves on', async () => {
    const topics = await smallDeadLetterTopic(fx, 4096);
    const good = [valid(601), valid(602)];
    const malformed = Buffer.from(`{"device_id": "${'d'.repeat(10_000)}"`);
    const offsets = await publish(topics.events, [json(good[0]), malformed, json(good[1])]);

    const { registry, groupId } = await processor(fx, { topics });
    await waitUntil('the partition committed past every message', () =>
      groupCaughtUp(groupId, topics.events),
    );

    assert.deepEqual(
      await storedIds(fx),
      good.map((e) => e.event_id),
    );
    const letter = (await letters(topics.dlq, 1)).get(offsets[1] ?? '');
    assert.ok(letter);
    assert.match(letter.error, /^malformed JSON/);
    assert.equal(letter.original_payload, undefined);
    assert.deepEqual(
      [letter.truncated, letter.original_size, letter.original_sha256],
      [true, malformed.length, sha256(malformed)],
    );
    assert.match(letter.payload_dropped ?? '', /MESSAGE_TOO_LARGE/);
    assert.equal(
      await metric(registry, 'telemetry_processor_dlq_reduced_total', { how: 'payload_dropped' }),
      1,
    );
  });

  it('when the dead-letter topic refuses even the letter without payload, then the loss is counted and the partition moves on', async () => {
    const topics = await smallDeadLetterTopic(fx, 100);
    const good = [valid(601), valid(602)];
    await publish(topics.events, [
      json(good[0]),
      Buffer.from('{"not": "an event"}'),
      json(good[1]),
    ]);

    const { registry, groupId } = await processor(fx, { topics });
    await waitUntil('the partition committed past every message', () =>
      groupCaughtUp(groupId, topics.events),
    );

    assert.deepEqual(
      await storedIds(fx),
      good.map((e) => e.event_id),
    );
    assert.equal(await topicSize(topics.dlq), 0);
    assert.equal(await metric(registry, 'telemetry_processor_dlq_lost_total'), 1);
  });

  it('when the database refuses the statement for every event, then nothing is dead-lettered, the processor says it is stuck, and once fixed it stores everything once', async () => {
    // As a revoked privilege would: every insert is refused, whatever the event.
    await fx.db.sql.unsafe(`
      create function refuse_all() returns trigger language plpgsql as $$
      begin
        raise exception 'inserts are not allowed now' using errcode = 'insufficient_privilege';
      end $$;
      create trigger refuse_all before insert on telemetry_event_ids
        for each row execute function refuse_all();`);
    const events = [valid(601), valid(602), valid(603), valid(604)];
    await publish(
      fx.topics.events,
      events.map((e) => json(e)),
    );

    const { registry, groupId } = await processor(fx, { stuckAfterMs: 1000 });
    await waitUntil('the processor says it is stuck', async () => {
      return (await metric(registry, 'telemetry_processor_stuck', { stage: 'store' })) === 1;
    });
    assert.ok(
      (await metric(registry, 'telemetry_processor_retrying_seconds', { stage: 'store' })) >= 1,
    );
    assert.equal(await groupCaughtUp(groupId, fx.topics.events), false);
    assert.equal(await topicSize(fx.topics.dlq), 0, 'nothing blamed on the events');

    await fx.db.sql`drop trigger refuse_all on telemetry_event_ids`;
    await waitUntil('the partition committed', () => groupCaughtUp(groupId, fx.topics.events));
    assert.deepEqual(await rawCounts(fx.db), { rows: 4, distinct: 4 });
    assert.equal(await metric(registry, 'telemetry_processor_stuck', { stage: 'store' }), 0);
    assert.equal(
      await metric(registry, 'telemetry_processor_retrying_seconds', { stage: 'store' }),
      0,
    );
    assert.equal(await topicSize(fx.topics.dlq), 0);
  });
});
