// Every kind of bad input the issue names, among valid neighbours in one Kafka batch, through the
// real processor: each bad message reaches the DLQ with its reason, where it came from and its
// original bytes; the neighbours are stored; the processor keeps running.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { TelemetryEvent } from '@telemetrypulse/shared';
import {
  groupCaughtUp,
  readTopic,
  testKafka,
  usePipelineFixture,
  waitUntil,
} from '@telemetrypulse/devstack/test';
import { DAY_MS } from '@telemetrypulse/shared';
import { startTestProcessor } from '../support.ts';

const SITE = 'site-dl';
const DEVICE = `${SITE}-zone-01-dev-01`;

function reading(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: randomUUID(),
    device_id: DEVICE,
    site_id: SITE,
    zone_id: 'zone-01',
    sensor_type: 'co2',
    value: 600,
    ts_event: new Date(Date.now() - 60_000).toISOString(),
    ...overrides,
  };
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** The bad inputs, each with the reason the DLQ record must give. */
function badInputs(): { name: string; bytes: Buffer; reason: RegExp }[] {
  const withoutSite = reading();
  delete withoutSite.site_id;
  return [
    { name: 'malformed JSON', bytes: Buffer.from('{"event_id": '), reason: /^malformed JSON/ },
    {
      name: 'wrong type',
      bytes: json(reading({ value: 'high' })),
      reason: /^value must be number$/,
    },
    { name: 'missing field', bytes: json(withoutSite), reason: /^missing field site_id$/ },
    {
      name: 'unknown sensor',
      bytes: json(reading({ sensor_type: 'radon' })),
      reason: /^sensor_type must be one of/,
    },
    {
      name: 'out of range',
      bytes: json(reading({ sensor_type: 'humidity', value: 101 })),
      reason: /^value 101 out of range for humidity/,
    },
    {
      name: 'oversized',
      bytes: json(reading({ device_id: 'd'.repeat(20_000) })),
      reason: /^message of \d+ bytes exceeds 16384$/,
    },
    {
      name: 'not UTF-8',
      bytes: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0x7d]),
      reason: /^message is not valid UTF-8$/,
    },
    {
      name: 'older than the raw retention',
      bytes: json(reading({ ts_event: new Date(Date.now() - 60 * DAY_MS).toISOString() })),
      reason: /older than the raw retention$/,
    },
    {
      name: 'too far in the future',
      bytes: json(reading({ ts_event: new Date(Date.now() + DAY_MS).toISOString() })),
      reason: /too far in the future$/,
    },
    { name: 'malformed id', bytes: json(reading({ event_id: 'x-1' })), reason: /^event_id must/ },
  ];
}

interface DeadLetterRecord {
  error: string;
  original_payload: string;
  original_payload_base64?: string;
  source_topic: string;
  source_partition: number;
  source_offset: string;
}

describe('dead letters (real Kafka + PostgreSQL + processor)', () => {
  const fx = usePipelineFixture();

  it('when a batch holds every kind of bad input among valid readings, then each bad one reaches the DLQ with its reason, source and bytes, and the valid ones are stored', async () => {
    const bad = badInputs();
    const valid = [reading({ value: 610 }), reading({ value: 620 }), reading({ value: 630 })];
    // One key, so one partition and consecutive offsets; valid readings first, middle and last.
    const payloads = [json(valid[0]), ...bad.slice(0, 5).map((b) => b.bytes), json(valid[1])];
    payloads.push(...bad.slice(5).map((b) => b.bytes), json(valid[2]));
    const producer = testKafka().producer();
    await producer.connect();
    let partition: number;
    let baseOffset: bigint;
    try {
      const [meta] = await producer.send({
        topic: fx.topics.events,
        acks: -1,
        messages: payloads.map((value) => ({ key: DEVICE, value })),
      });
      assert.ok(meta?.baseOffset !== undefined);
      partition = meta.partition;
      baseOffset = BigInt(meta.baseOffset);
    } finally {
      await producer.disconnect();
    }

    const group = `g-${randomUUID()}`;
    const processor = await startTestProcessor(fx.db, fx.topics, group);
    fx.processors.push(processor);
    await waitUntil('the batch committed', () => groupCaughtUp(group, fx.topics.events));

    const stored = await fx.db.sql<{ event_id: string }[]>`
      select event_id from telemetry_events order by value`;
    assert.deepEqual(
      stored.map((r) => r.event_id),
      valid.map((v) => v.event_id),
    );

    const records = (await readTopic(fx.topics.dlq, bad.length)).map(
      (m) => JSON.parse(m.value) as DeadLetterRecord,
    );
    const byOffset = new Map(records.map((r) => [r.source_offset, r]));
    assert.equal(byOffset.size, bad.length, 'one dead letter per bad message');
    payloads.forEach((bytes, i) => {
      const input = bad.find((b) => b.bytes === bytes);
      const record = byOffset.get(String(baseOffset + BigInt(i)));
      if (!input) {
        assert.equal(record, undefined, `valid message ${i} was dead-lettered`);
        return;
      }
      assert.ok(record, `${input.name}: no dead letter`);
      assert.match(record.error, input.reason, input.name);
      assert.equal(record.source_topic, fx.topics.events);
      assert.equal(record.source_partition, partition);
      const original =
        record.original_payload_base64 === undefined
          ? Buffer.from(record.original_payload)
          : Buffer.from(record.original_payload_base64, 'base64');
      assert.ok(original.equals(bytes), `${input.name}: original bytes changed`);
    });
    assert.equal(processor.isRunning(), true);

    // It carries on: a reading after the bad ones is stored too.
    const after = reading({ value: 640 }) as unknown as TelemetryEvent;
    const more = testKafka().producer();
    await more.connect();
    try {
      await more.send({
        topic: fx.topics.events,
        acks: -1,
        messages: [{ key: DEVICE, value: json(after) }],
      });
    } finally {
      await more.disconnect();
    }
    await waitUntil('the next reading stored', async () => {
      const [row] = await fx.db.sql<{ n: number }[]>`
        select count(*)::int as n from telemetry_events where event_id = ${after.event_id}`;
      return row?.n === 1;
    });
  });
});
