import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { DEFAULT_LIMITS, type TelemetryEvent } from '@telemetrypulse/shared';
import { telemetryEvent } from '@telemetrypulse/devstack/test';
import { decodeBatch, type IncomingMessage } from '../../src/ingest/batch.ts';

const NOW = Date.parse('2025-06-01T12:00:00.000Z');

/** A CO2 reading taken a minute before this suite's fixed NOW. */
const event = (overrides: Partial<TelemetryEvent> = {}): TelemetryEvent =>
  telemetryEvent({ value: 650, ts_event: new Date(NOW - 60_000).toISOString(), ...overrides });

function message(offset: number, value: string | Buffer | null): IncomingMessage {
  return {
    offset: String(offset),
    key: Buffer.from('site-01-zone-01-dev-01'),
    value: typeof value === 'string' ? Buffer.from(value) : value,
  };
}

describe('decodeBatch', () => {
  it('when a batch mixes valid and invalid messages, then it splits them and gives each reject its reason', () => {
    const good = [event(), event({ sensor_type: 'humidity', value: 45 })];
    const messages = [
      message(0, JSON.stringify(good[0])),
      message(1, '{"event_id": "not json'),
      message(2, JSON.stringify(event({ sensor_type: 'humidity', value: 101 }))),
      message(3, JSON.stringify(good[1])),
      message(4, JSON.stringify({ event_id: randomUUID(), sensor_type: 'co2' })),
    ];

    const { events, origins, rejected } = decodeBatch(messages, NOW, DEFAULT_LIMITS);

    assert.deepEqual(events, good);
    // Each valid event keeps its message, to be dead-lettered if the database refuses it.
    assert.equal(origins.length, 2);
    assert.deepEqual([origins.at(0), origins.at(1)], [messages[0], messages[3]]);
    assert.deepEqual(
      rejected.map((r) => r.message.offset),
      ['1', '2', '4'],
    );
    assert.equal(rejected[0]?.message, messages[1]);
    assert.match(rejected[0]?.reason ?? '', /malformed JSON/);
    assert.match(rejected[1]?.reason ?? '', /out of range for humidity/);
    assert.match(rejected[2]?.reason ?? '', /missing field/);
  });

  it('when a message is repeated within a batch, then each copy comes out in the same canonical form (the store keeps one)', () => {
    const repeated = event();
    const messages = [
      message(0, JSON.stringify(repeated)),
      message(1, JSON.stringify(repeated)),
      // The same event spelled differently (id case, time offset) is still the same event.
      message(
        2,
        JSON.stringify({
          ...repeated,
          event_id: repeated.event_id.toUpperCase(),
          ts_event: repeated.ts_event.replace('Z', '+00:00'),
        }),
      ),
    ];

    const { events, rejected } = decodeBatch(messages, NOW, DEFAULT_LIMITS);

    assert.deepEqual(events, [repeated, repeated, repeated]);
    assert.deepEqual(rejected, []);
  });

  it('when one event id comes with two different times, then both are kept (they are distinct rows)', () => {
    const first = event();
    const second = { ...first, ts_event: new Date(NOW - 30_000).toISOString() };
    const { events } = decodeBatch(
      [message(0, JSON.stringify(first)), message(1, JSON.stringify(second))],
      NOW,
      DEFAULT_LIMITS,
    );
    assert.deepEqual(events, [first, second]);
  });

  it('when a message has a null or empty value, then it is rejected as empty', () => {
    const { events, rejected } = decodeBatch(
      [message(0, null), message(1, Buffer.alloc(0))],
      NOW,
      DEFAULT_LIMITS,
    );
    assert.deepEqual(events, []);
    assert.deepEqual(
      rejected.map((r) => [r.message.offset, r.reason]),
      [
        ['0', 'empty message'],
        ['1', 'empty message'],
      ],
    );
  });

  it('when an event is too far in the future for the given time, then it is rejected', () => {
    const { events, rejected } = decodeBatch(
      [message(0, JSON.stringify(event({ ts_event: new Date(NOW + 3600_000).toISOString() })))],
      NOW,
      DEFAULT_LIMITS,
    );
    assert.deepEqual(events, []);
    assert.match(rejected[0]?.reason ?? '', /too far in the future/);
  });
});
