import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Message, Producer, ProducerRecord } from 'kafkajs';
import kafkajs from 'kafkajs';
import {
  chunksBySize,
  deadLetter,
  isRecordRefused,
  MAX_SEND_BYTES,
  sendDeadLetters,
  type Letter,
} from '../../src/ingest/dlq.ts';

const SOURCE = { topic: 'telemetry.events', partition: 4 };
const NOW = new Date('2025-06-01T12:00:00.000Z');
const LIMITS = { maxPayloadBytes: 1024 };

function letter(value: Buffer | null, reason = 'malformed JSON: x', offset = '42'): Letter {
  return { message: { offset, key: Buffer.from('dev-7'), value }, reason, source: SOURCE };
}

function body(message: Message): Record<string, unknown> {
  assert.equal(typeof message.value, 'string');
  return JSON.parse(String(message.value)) as Record<string, unknown>;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** kafkajs's error for a record the broker refuses, wrapped as its retrier wraps it. */
function brokerRefuses(type = 'MESSAGE_TOO_LARGE'): Error {
  // The constructors are typed with a string only; kafkajs passes its protocol error object.
  const protocol = new kafkajs.KafkaJSProtocolError({
    type,
    code: 10,
    retriable: false,
    message: type,
  } as unknown as string);
  // kafkajs's retrier sets the cause, which its typings leave out.
  return Object.assign(new kafkajs.KafkaJSNonRetriableError(protocol), { cause: protocol });
}

/** A producer whose `send` answers with `respond`; it records what it was given. */
function fakeProducer(respond: (messages: Message[]) => Error | undefined) {
  const sent: Message[][] = [];
  const producer = {
    send(record: ProducerRecord) {
      const error = respond(record.messages);
      if (error) return Promise.reject(error);
      sent.push(record.messages);
      return Promise.resolve([]);
    },
  } as unknown as Producer;
  return { producer, sent };
}

describe('deadLetter', () => {
  it("when a UTF-8 message is rejected, then the record keeps the original's shape, says where it came from, and its size and digest", () => {
    const payload = '{"event_id": "not json — ünïcode';
    const bytes = Buffer.from(payload);
    const message = deadLetter(letter(bytes), NOW, LIMITS);

    assert.deepEqual(body(message), {
      error: 'malformed JSON: x',
      original_payload: payload,
      source_topic: 'telemetry.events',
      source_partition: 4,
      source_offset: '42',
      rejected_at: '2025-06-01T12:00:00.000Z',
      original_size: bytes.length,
      original_sha256: sha256(bytes),
      truncated: false,
    });
    assert.deepEqual(message.headers, { 'x-dlq-reason': 'malformed JSON: x' });
  });

  it('when the bytes are not UTF-8, then they also travel base64-encoded and decode back exactly', () => {
    const bytes = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0x7d]);
    const record = body(deadLetter(letter(bytes, 'message is not valid UTF-8'), NOW, LIMITS));

    assert.equal(record.error, 'message is not valid UTF-8');
    assert.equal(typeof record.original_payload, 'string');
    assert.deepEqual(Buffer.from(String(record.original_payload_base64), 'base64'), bytes);
    assert.equal(record.truncated, false);
  });

  it('when a UTF-8 message is longer than the limit, then the letter carries its start, cut between characters, with the whole size and digest', () => {
    // 'é' is two bytes: a cut at an odd byte count would split one.
    const bytes = Buffer.from(`{"x": "${'é'.repeat(1000)}"}`);
    const record = body(deadLetter(letter(bytes), NOW, { maxPayloadBytes: 101 }));

    assert.equal(record.truncated, true);
    assert.equal(record.original_size, bytes.length);
    assert.equal(record.original_sha256, sha256(bytes));
    const kept = Buffer.from(String(record.original_payload));
    assert.ok(kept.length <= 101 && kept.length >= 99, `kept ${kept.length} bytes`);
    assert.ok(bytes.subarray(0, kept.length).equals(kept), 'the start of the original, unaltered');
    assert.equal('original_payload_base64' in record, false);
  });

  it('when invalid bytes are longer than the limit, then the letter stays within about 7.4 times the limit and its base64 holds their start', () => {
    const bytes = Buffer.alloc(1_000_000, 0x01);
    bytes.fill(0xff, 0, 1000);
    const message = deadLetter(
      letter(bytes, 'message of 1000000 bytes exceeds 16384'),
      NOW,
      LIMITS,
    );
    const record = body(message);

    assert.equal(record.truncated, true);
    assert.equal(record.original_size, 1_000_000);
    assert.deepEqual(
      Buffer.from(String(record.original_payload_base64), 'base64'),
      bytes.subarray(0, 1024),
    );
    assert.ok(Buffer.byteLength(String(message.value)) < 7.4 * 1024 + 1024);
  });

  it('when the message is rejected, then its key is preserved', () => {
    const message = deadLetter(letter(Buffer.from('{}')), NOW, LIMITS);
    assert.deepEqual(message.key, Buffer.from('dev-7'));
  });

  it('when the message had no key or value, then the key is null and the payload empty', () => {
    const message = deadLetter(
      { message: { offset: '0', value: null }, reason: 'empty message', source: SOURCE },
      NOW,
      LIMITS,
    );
    assert.equal(message.key, null);
    const record = body(message);
    assert.equal(record.original_payload, '');
    assert.equal(record.original_size, 0);
    assert.equal('original_payload_base64' in record, false);
  });

  it('when the reason is long, then the header carries at most 200 characters of it and the body 1000', () => {
    const reason = 'x'.repeat(5000);
    const message = deadLetter(letter(Buffer.from('{}'), reason), NOW, LIMITS);
    assert.equal(message.headers?.['x-dlq-reason'], 'x'.repeat(200));
    assert.equal(body(message).error, 'x'.repeat(1000));
  });
});

describe('isRecordRefused', () => {
  it('when the broker refuses the record as too large or invalid, then it says which, through kafkajs wrappers', () => {
    assert.equal(isRecordRefused(brokerRefuses()), 'MESSAGE_TOO_LARGE');
    assert.equal(isRecordRefused(brokerRefuses('INVALID_RECORD')), 'INVALID_RECORD');
    assert.equal(isRecordRefused(brokerRefuses('RECORD_LIST_TOO_LARGE')), 'RECORD_LIST_TOO_LARGE');
  });

  it('when the error is about the broker, not the record, then it is not a refusal', () => {
    assert.equal(isRecordRefused(brokerRefuses('TOPIC_AUTHORIZATION_FAILED')), undefined);
    assert.equal(isRecordRefused(new Error('Connection timeout')), undefined);
    assert.equal(isRecordRefused(undefined), undefined);
  });
});

describe('chunksBySize', () => {
  it('when items add up past the limit, then they are split in order, and an item larger than the limit goes alone', () => {
    const chunks = chunksBySize([3, 3, 3, 10, 1, 1], (n) => n, 6);
    assert.deepEqual(chunks, [[3, 3], [3], [10], [1, 1]]);
  });
});

describe('sendDeadLetters', () => {
  it('when letters together exceed one request, then they go in several, each within the limit', async () => {
    const { producer, sent } = fakeProducer(() => undefined);
    const letters = Array.from({ length: 12 }, (_, i) =>
      letter(Buffer.alloc(60_000, 0x61), 'x', String(i)),
    );
    const outcome = await sendDeadLetters(producer, 'dlq', letters, { maxPayloadBytes: 65_536 });

    assert.equal(outcome.sent, 12);
    assert.ok(sent.length >= 2);
    for (const request of sent) {
      const bytes = request.reduce((n, m) => n + Buffer.byteLength(String(m.value)), 0);
      assert.ok(bytes <= MAX_SEND_BYTES, `a request of ${bytes} bytes`);
    }
    assert.deepEqual(
      sent.flat().map((m) => body(m).source_offset),
      letters.map((l) => l.message.offset),
    );
  });

  it('when the broker refuses a letter as too large, then it goes without its payload and the others whole', async () => {
    const { producer, sent } = fakeProducer((messages) =>
      messages.some((m) => String(m.value).length > 5000) ? brokerRefuses() : undefined,
    );
    const big = letter(Buffer.alloc(10_000, 0x61), 'big', '1');
    const small = letter(Buffer.from('{}'), 'small', '2');
    const outcome = await sendDeadLetters(producer, 'dlq', [big, small], {
      maxPayloadBytes: 65_536,
    });

    assert.deepEqual(
      { sent: outcome.sent, payloadDropped: outcome.payloadDropped, lost: outcome.lost.length },
      { sent: 1, payloadDropped: 1, lost: 0 },
    );
    const records = sent.flat().map(body);
    const minimal = records.find((r) => r.source_offset === '1');
    assert.ok(minimal);
    assert.equal(minimal.truncated, true);
    assert.equal('original_payload' in minimal, false);
    assert.equal(minimal.original_size, 10_000);
    assert.match(String(minimal.payload_dropped), /MESSAGE_TOO_LARGE/);
    assert.equal(records.find((r) => r.source_offset === '2')?.original_payload, '{}');
  });

  it('when the broker refuses even the letter without payload, then it is reported lost and the others still go', async () => {
    const { producer, sent } = fakeProducer((messages) =>
      messages.some((m) => body(m).error === 'cursed')
        ? brokerRefuses('INVALID_RECORD')
        : undefined,
    );
    const cursed = letter(Buffer.from('{}'), 'cursed', '1');
    const fine = letter(Buffer.from('{}'), 'fine', '2');
    const outcome = await sendDeadLetters(producer, 'dlq', [cursed, fine], LIMITS);

    assert.equal(outcome.lost.length, 1);
    assert.equal(outcome.lost[0]?.letter, cursed);
    assert.deepEqual(
      sent.flat().map((m) => body(m).error),
      ['fine'],
    );
  });

  it('when the broker fails for another reason, then the error is thrown for the caller to retry', async () => {
    const { producer } = fakeProducer(() => brokerRefuses('TOPIC_AUTHORIZATION_FAILED'));
    await assert.rejects(
      sendDeadLetters(producer, 'dlq', [letter(Buffer.from('{}'))], LIMITS),
      kafkajs.KafkaJSNonRetriableError,
    );
  });
});
