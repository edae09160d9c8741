import assert from 'node:assert/strict';
import { deadLetter, minimalLetter, type Letter } from '../../src/ingest/dlq.ts';
import {
  addToTally,
  decodeDeadLetter,
  emptyTally,
  planBatch,
  type DeadLetterMessage,
  type PlanOptions,
} from '../../src/replay/record.ts';

const SOURCE = { topic: 'telemetry.events', partition: 2 };
const NOW = new Date('2025-06-01T12:00:00.000Z');
const LIMITS = { maxPayloadBytes: 64 };

/** A dead letter exactly as the processor writes it, read back as the replay sees it. */
function letter(
  offset: number,
  value: Buffer | null,
  reason = 'malformed JSON: x',
  key: Buffer | null = Buffer.from(`dev-${offset}`),
): DeadLetterMessage {
  const rejected: Letter = {
    message: { offset: String(offset + 1000), key, value },
    reason,
    source: SOURCE,
  };
  const message = deadLetter(rejected, NOW, LIMITS);
  return {
    offset: String(offset),
    key: message.key as Buffer | null,
    value: Buffer.from(String(message.value)),
  };
}

function options(overrides: Partial<PlanOptions> = {}): PlanOptions {
  return {
    source: { topic: 'telemetry.dlq', partition: 1 },
    fromOffset: '0',
    endOffset: '100',
    filter: {},
    remaining: Number.POSITIVE_INFINITY,
    ...overrides,
  };
}

describe('decodeDeadLetter', () => {
  it('when a UTF-8 message was dead-lettered, then the original bytes and key come back', () => {
    const payload = Buffer.from('{"event_id": "not json — ünïcode');
    const decoded = decodeDeadLetter(letter(0, payload));
    assert.deepEqual(decoded, {
      ok: true,
      reason: 'malformed JSON: x',
      key: Buffer.from('dev-0'),
      value: payload,
    });
  });

  it('when the payload was not UTF-8, then the base64 copy gives back the exact bytes', () => {
    const bytes = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x00, 0xc3, 0x28, 0x7d]);
    const decoded = decodeDeadLetter(letter(0, bytes, 'message is not valid UTF-8'));
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.value, bytes);
  });

  it('when the original message had no key, then the replayed one has none either', () => {
    const decoded = decodeDeadLetter(letter(0, Buffer.from('{}'), 'missing field x', null));
    assert.equal(decoded.ok && decoded.key, null);
  });

  it("when the record is in the original system's shape, then it decodes the same way", () => {
    const value = Buffer.from(JSON.stringify({ error: 'bad', original_payload: '{"a":1}' }));
    const decoded = decodeDeadLetter({ offset: '0', key: null, value });
    assert.deepEqual(decoded, {
      ok: true,
      reason: 'bad',
      key: null,
      value: Buffer.from('{"a":1}'),
    });
  });

  it('when the letter carries only the start of the original, then it is not replayed and says why', () => {
    const original = Buffer.from(`{"device_id": "${'d'.repeat(100)}"}`);
    const decoded = decodeDeadLetter(letter(0, original, 'message of 117 bytes exceeds 64'));
    assert.ok(!decoded.ok);
    assert.deepEqual(decoded.incomplete, { reason: 'message of 117 bytes exceeds 64' });
    assert.match(
      decoded.problem,
      /^not replayable: the letter carries only the start of the original's 117 bytes, SHA-256 [0-9a-f]{64} \(cut to DLQ_MAX_PAYLOAD_BYTES\)$/,
    );
  });

  it('when the letter was sent without its payload, then it is not replayed and says why', () => {
    const message = minimalLetter(
      {
        message: { offset: '7', key: null, value: Buffer.from('{}') },
        reason: 'x',
        source: SOURCE,
      },
      NOW,
      'MESSAGE_TOO_LARGE',
    );
    const decoded = decodeDeadLetter({ offset: '0', value: Buffer.from(String(message.value)) });
    assert.ok(!decoded.ok);
    assert.match(
      decoded.problem,
      /^not replayable: the letter carries none of the original's 2 bytes, SHA-256 [0-9a-f]{64} \(the broker refused the letter with the payload: MESSAGE_TOO_LARGE\)$/,
    );
  });

  it('when the dead letter is not a record the replay understands, then it says why', () => {
    const cases: [string | null, RegExp][] = [
      ['not json', /not a JSON dead-letter record/],
      [null, /not a JSON dead-letter record/],
      ['[1, 2]', /not a JSON dead-letter record/],
      ['{"original_payload": "{}"}', /no error reason/],
      ['{"error": "x"}', /no original_payload/],
      ['{"error": "x", "original_payload": "", "original_payload_base64": "%%%"}', /not base64/],
      ['{"error": "x", "original_payload": "", "original_payload_base64": 7}', /not base64/],
    ];
    for (const [text, problem] of cases) {
      const decoded = decodeDeadLetter({
        offset: '0',
        value: text === null ? null : Buffer.from(text),
      });
      assert.ok(!decoded.ok, String(text));
      assert.match(decoded.problem, problem, String(text));
    }
  });
});

describe('planBatch', () => {
  const batch = [
    letter(10, Buffer.from('a'), 'malformed JSON: a'),
    letter(11, Buffer.from('b'), 'value 5000 out of range for co2 (0..5000 ppm)'),
    { offset: '12', key: null, value: Buffer.from('garbage') },
    letter(13, Buffer.from('d'), 'malformed JSON: d'),
  ];

  it('when every dead letter is selected, then all readable ones are replayed with their key and origin, and the commit goes past the batch', () => {
    const plan = planBatch(batch, options({ fromOffset: '10' }));
    assert.deepEqual(
      plan.replay.map((m) => [m.key, m.value, m.headers]),
      [
        [Buffer.from('dev-10'), Buffer.from('a'), { 'x-replayed-from': 'telemetry.dlq/1/10' }],
        [Buffer.from('dev-11'), Buffer.from('b'), { 'x-replayed-from': 'telemetry.dlq/1/11' }],
        [Buffer.from('dev-13'), Buffer.from('d'), { 'x-replayed-from': 'telemetry.dlq/1/13' }],
      ],
    );
    assert.deepEqual(
      plan.handled.map((h) => h.outcome),
      ['selected', 'selected', 'unreadable', 'selected'],
    );
    assert.equal(plan.nextOffset, '14');
    assert.equal(plan.limitReached, false);
  });

  it('when a reason filter is given, then only matching letters are replayed and the others are passed over', () => {
    const plan = planBatch(batch, options({ filter: { reason: /out of range/i } }));
    assert.deepEqual(
      plan.replay.map((m) => m.value),
      [Buffer.from('b')],
    );
    assert.deepEqual(
      plan.handled.map((h) => h.outcome),
      ['not-selected', 'selected', 'unreadable', 'not-selected'],
    );
    assert.equal(plan.nextOffset, '14');
  });

  it('when the end offset captured at start falls inside the batch, then later letters are left for the next run', () => {
    const plan = planBatch(batch, options({ endOffset: '12' }));
    assert.equal(plan.replay.length, 2);
    assert.equal(plan.nextOffset, '12');
    assert.equal(plan.limitReached, false);
  });

  it('when the batch starts before what this run already handled, then those letters are not handled twice', () => {
    const plan = planBatch(batch, options({ fromOffset: '13' }));
    assert.deepEqual(
      plan.handled.map((h) => h.offset),
      ['13'],
    );
  });

  it('when the limit is reached, then the plan stops right after the last selected letter', () => {
    const plan = planBatch(batch, options({ remaining: 1 }));
    assert.equal(plan.replay.length, 1);
    assert.equal(plan.nextOffset, '11');
    assert.equal(plan.limitReached, true);
  });

  it('when the limit is reached on the last letter before the end, then the range is simply done', () => {
    const plan = planBatch(batch, options({ remaining: 3, endOffset: '14' }));
    assert.equal(plan.replay.length, 3);
    assert.equal(plan.nextOffset, '14');
    assert.equal(plan.limitReached, false);
  });

  it('when a selected letter is incomplete, then it is counted as such, not replayed, and committed past', () => {
    const long = Buffer.from(`{"x": "${'y'.repeat(100)}"}`);
    const withCut = [
      letter(20, Buffer.from('a')),
      letter(21, long, 'message of 109 bytes exceeds 64'),
    ];
    const plan = planBatch(withCut, options());
    assert.deepEqual(
      plan.handled.map((h) => h.outcome),
      ['selected', 'incomplete'],
    );
    assert.match(plan.handled[1]?.reason ?? '', /^not replayable: /);
    assert.equal(plan.replay.length, 1);
    assert.equal(plan.nextOffset, '22');
    const tally = addToTally(emptyTally(), plan.handled);
    assert.equal(tally.incomplete, 1);
    assert.equal(tally.byReason.incomplete?.read, 1);

    const unselected = planBatch(withCut, options({ filter: { reason: /malformed/ } }));
    assert.deepEqual(
      unselected.handled.map((h) => h.outcome),
      ['selected', 'not-selected'],
    );
  });

  it('when nothing in the batch is in range, then nothing is handled and there is nothing to commit', () => {
    const plan = planBatch(batch, options({ fromOffset: '20', endOffset: '30' }));
    assert.deepEqual(plan, { replay: [], handled: [], nextOffset: null, limitReached: false });
  });
});

describe('addToTally', () => {
  it('when letters are handled, then they are counted by outcome and by reason label with an example', () => {
    const plan = planBatch(
      [
        letter(0, Buffer.from('a'), 'malformed JSON: Unexpected token a'),
        letter(1, Buffer.from('b'), 'malformed JSON: Unexpected token b'),
        letter(2, Buffer.from('c'), 'value 9999 out of range for humidity (0..100 %)'),
        { offset: '3', key: null, value: Buffer.from('garbage') },
      ],
      options({ filter: { reason: /JSON/ } }),
    );
    const before = emptyTally();
    const tally = addToTally(before, plan.handled);

    assert.deepEqual(tally, {
      read: 4,
      selected: 2,
      notSelected: 1,
      unreadable: 1,
      incomplete: 0,
      byReason: {
        malformed_json: { read: 2, selected: 2, example: 'malformed JSON: Unexpected token a' },
        out_of_range: {
          read: 1,
          selected: 0,
          example: 'value 9999 out of range for humidity (0..100 %)',
        },
        unreadable: { read: 1, selected: 0, example: 'not a JSON dead-letter record' },
      },
    });
    assert.deepEqual(before, emptyTally());
  });
});
