import assert from 'node:assert/strict';
import type { Message } from 'kafkajs';
import type { Rejected } from '../../src/ingest/batch.ts';
import { deadLetter } from '../../src/ingest/dlq.ts';

const SOURCE = { topic: 'telemetry.events', partition: 4 };
const NOW = new Date('2025-06-01T12:00:00.000Z');

function rejected(value: Buffer | null, reason = 'malformed JSON: x'): Rejected {
  return { message: { offset: '42', key: Buffer.from('dev-7'), value }, reason };
}

function body(message: Message): Record<string, unknown> {
  assert.equal(typeof message.value, 'string');
  return JSON.parse(String(message.value)) as Record<string, unknown>;
}

describe('deadLetter', () => {
  it("when a UTF-8 message is rejected, then the record keeps the original's shape and says where it came from", () => {
    const payload = '{"event_id": "not json — ünïcode';
    const message = deadLetter(rejected(Buffer.from(payload)), SOURCE, NOW);

    assert.deepEqual(body(message), {
      error: 'malformed JSON: x',
      original_payload: payload,
      source_topic: 'telemetry.events',
      source_partition: 4,
      source_offset: '42',
      rejected_at: '2025-06-01T12:00:00.000Z',
    });
    assert.deepEqual(message.headers, { 'x-dlq-reason': 'malformed JSON: x' });
  });

  it('when the bytes are not UTF-8, then they also travel base64-encoded and decode back exactly', () => {
    const bytes = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0x7d]);
    const record = body(deadLetter(rejected(bytes, 'message is not valid UTF-8'), SOURCE, NOW));

    assert.equal(record.error, 'message is not valid UTF-8');
    assert.equal(typeof record.original_payload, 'string');
    assert.equal(typeof record.original_payload_base64, 'string');
    assert.deepEqual(Buffer.from(String(record.original_payload_base64), 'base64'), bytes);
  });

  it('when the message is rejected, then its key is preserved', () => {
    const message = deadLetter(rejected(Buffer.from('{}')), SOURCE, NOW);
    assert.deepEqual(message.key, Buffer.from('dev-7'));
  });

  it('when the message had no key or value, then the key is null and the payload empty', () => {
    const message = deadLetter(
      { message: { offset: '0', value: null }, reason: 'empty message' },
      SOURCE,
      NOW,
    );
    assert.equal(message.key, null);
    const record = body(message);
    assert.equal(record.original_payload, '');
    assert.equal('original_payload_base64' in record, false);
  });

  it('when the reason is long, then the header carries at most 200 characters of it and the body all of it', () => {
    const reason = 'x'.repeat(500);
    const message = deadLetter(rejected(Buffer.from('{}'), reason), SOURCE, NOW);
    assert.equal(message.headers?.['x-dlq-reason'], 'x'.repeat(200));
    assert.equal(body(message).error, reason);
  });
});
