import assert from 'node:assert/strict';
import { MINUTE_MS } from '@telemetrypulse/shared';
import {
  DEFAULT_LIMITS,
  completeEvent,
  decodeEvent,
  parseEventTime,
  validateEvent,
  type ValidEvent,
  type ValidationResult,
} from '../../src/contract/event.ts';
import { newEventId } from '../../src/contract/event-id.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** The Unix milliseconds in a UUIDv7's first 48 bits. */
const uuidV7Ms = (id: string) => Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

function reading(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: '3f2b8c1e-6a4d-4e2f-9b7a-1c2d3e4f5a6b',
    device_id: 'site-01-zone-03-dev-02',
    site_id: 'site-01',
    zone_id: 'zone-03',
    sensor_type: 'co2',
    value: 612.5,
    ts_event: '2026-03-01T11:59:30Z',
    ...overrides,
  };
}

const bytes = (text: string) => new TextEncoder().encode(text);

function reasonOf(result: ValidationResult): string {
  if (result.ok) assert.fail(`expected a rejection, got ${JSON.stringify(result.event)}`);
  return result.reason;
}

function accepted(result: ValidationResult): ValidEvent {
  if (!result.ok) assert.fail(`expected the event to pass, got: ${result.reason}`);
  return result;
}

function without(record: Record<string, unknown>, ...fields: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !fields.includes(key)));
}

describe('event contract', () => {
  describe('validateEvent', () => {
    it('when an event is valid, then it passes with ts_event in canonical UTC ISO form', () => {
      const result = accepted(
        validateEvent(reading({ ts_event: '2026-03-01T13:59:30+02:00' }), NOW),
      );
      assert.deepEqual(result.event, reading({ ts_event: '2026-03-01T11:59:30.000Z' }));
      assert.equal(result.tsMs, Date.parse('2026-03-01T11:59:30Z'));
    });

    it('when every sensor type sends a reading in its range, then each passes', () => {
      for (const [sensor_type, value] of [
        ['co2', 400],
        ['temperature', -12.5],
        ['humidity', 100],
        ['occupancy', 0],
      ] as const) {
        accepted(validateEvent(reading({ sensor_type, value }), NOW));
      }
    });

    it('when ts_event has no offset, then it is read as UTC like the original sent it', () => {
      for (const naive of [
        '2026-03-01T11:59:30',
        '2026-03-01 11:59:30',
        '2026-03-01T11:59:30.000000',
      ]) {
        const result = accepted(validateEvent(reading({ ts_event: naive }), NOW));
        assert.equal(result.event.ts_event, '2026-03-01T11:59:30.000Z', naive);
      }
    });

    it('when the same time is spelled differently, then every spelling gives the same ts_event', () => {
      const spellings = [
        '2026-03-01T11:59:30Z',
        '2026-03-01T11:59:30.000z',
        '2026-03-01t11:59:30',
        '2026-03-01T06:59:30-05:00',
        '2026-03-01T06:59:30-0500',
        '2026-03-01T06:59:30-05',
      ];
      for (const spelling of spellings) {
        const result = accepted(validateEvent(reading({ ts_event: spelling }), NOW));
        assert.equal(result.event.ts_event, '2026-03-01T11:59:30.000Z', spelling);
      }
    });

    it('when the event has extra fields, then they are dropped', () => {
      const result = accepted(validateEvent(reading({ firmware: '1.2', meta: { a: 1 } }), NOW));
      assert.deepEqual(Object.keys(result.event).sort(), Object.keys(reading()).sort());
    });

    it('when the input is not an object, then the reason says an object is needed', () => {
      for (const candidate of [null, 42, 'text', true, [reading()]]) {
        assert.equal(reasonOf(validateEvent(candidate, NOW)), 'event must be a JSON object');
      }
    });

    it('when a field is missing, then the reason names it', () => {
      for (const field of Object.keys(reading())) {
        const candidate = without(reading(), field);
        assert.equal(reasonOf(validateEvent(candidate, NOW)), `missing field ${field}`);
      }
    });

    it('when a field has the wrong type, then the reason names the field and the type', () => {
      assert.equal(reasonOf(validateEvent(reading({ value: '612' }), NOW)), 'value must be number');
      assert.equal(reasonOf(validateEvent(reading({ value: null }), NOW)), 'value must be number');
      assert.equal(reasonOf(validateEvent(reading({ value: NaN }), NOW)), 'value must be number');
      assert.equal(reasonOf(validateEvent(reading({ site_id: 1 }), NOW)), 'site_id must be string');
      assert.equal(
        reasonOf(validateEvent(reading({ ts_event: 1_772_366_370_000 }), NOW)),
        'ts_event must be an ISO-8601 timestamp',
      );
    });

    it('when sensor_type is unknown, then the reason lists the known ones', () => {
      assert.equal(
        reasonOf(validateEvent(reading({ sensor_type: 'pressure' }), NOW)),
        'sensor_type must be one of co2, temperature, humidity, occupancy',
      );
    });

    it('when a value is outside the physical range, then the reason gives the range', () => {
      assert.equal(
        reasonOf(validateEvent(reading({ sensor_type: 'humidity', value: 101 }), NOW)),
        'value 101 out of range for humidity (0..100 %)',
      );
      assert.equal(
        reasonOf(validateEvent(reading({ sensor_type: 'humidity', value: -1 }), NOW)),
        'value -1 out of range for humidity (0..100 %)',
      );
      assert.match(
        reasonOf(validateEvent(reading({ sensor_type: 'co2', value: -5 }), NOW)),
        /^value -5 out of range for co2/,
      );
    });

    it('when occupancy is not a whole number, then the reason says so', () => {
      assert.equal(
        reasonOf(validateEvent(reading({ sensor_type: 'occupancy', value: 2.5 }), NOW)),
        'value 2.5 must be a whole number for occupancy',
      );
    });

    it('when event_id is not a UUID, then the reason names event_id', () => {
      for (const eventId of ['not-a-uuid', '', '3f2b8c1e6a4d4e2f9b7a1c2d3e4f5a6b', 42]) {
        assert.equal(
          reasonOf(validateEvent(reading({ event_id: eventId }), NOW)),
          'event_id must be a UUID (8-4-4-4-12 hexadecimal digits)',
        );
      }
    });

    // Spellings the JSON schema format "uuid" allows and PostgreSQL's uuid type refuses: the
    // store failed on them and the partition stalled.
    it('when event_id is a UUID spelling PostgreSQL cannot read, then it is rejected', () => {
      const uuid = '3f2b8c1e-6a4d-4e2f-9b7a-1c2d3e4f5a6b';
      for (const eventId of [`urn:uuid:${uuid}`, `URN:UUID:${uuid}`, `{${uuid}}`, ` ${uuid}`]) {
        assert.equal(
          reasonOf(validateEvent(reading({ event_id: eventId }), NOW)),
          'event_id must be a UUID (8-4-4-4-12 hexadecimal digits)',
          eventId,
        );
      }
    });

    it('when event_id is an upper-case UUID, then it is accepted in lower case', () => {
      const result = accepted(
        validateEvent(reading({ event_id: '3F2B8C1E-6A4D-4E2F-9B7A-1C2D3E4F5A6B' }), NOW),
      );
      assert.equal(result.event.event_id, '3f2b8c1e-6a4d-4e2f-9b7a-1c2d3e4f5a6b');
    });

    it('when a text field holds a NUL character, which PostgreSQL text cannot hold, then it is rejected', () => {
      for (const field of ['device_id', 'site_id', 'zone_id']) {
        const result = validateEvent(reading({ [field]: 'dev\u0000ice' }), NOW);
        assert.equal(result.ok, false, field);
        assert.match(reasonOf(result), new RegExp(`^${field} `));
      }
      assert.equal(
        validateEvent(reading({ ts_event: '2026-03-01T11:59:30Z\u0000' }), NOW).ok,
        false,
      );
    });

    it('when an id is empty, too long or has bad characters, then the reason names the id', () => {
      assert.equal(
        reasonOf(validateEvent(reading({ site_id: '' }), NOW)),
        'site_id must NOT have fewer than 1 characters',
      );
      assert.equal(
        reasonOf(validateEvent(reading({ zone_id: 'z'.repeat(65) }), NOW)),
        'zone_id must NOT have more than 64 characters',
      );
      assert.equal(
        reasonOf(validateEvent(reading({ device_id: 'd'.repeat(129) }), NOW)),
        'device_id must NOT have more than 128 characters',
      );
      for (const bad of ['site 01', '-site', 'site/01', 'sité']) {
        assert.match(
          reasonOf(validateEvent(reading({ device_id: bad }), NOW)),
          /^device_id must match pattern/,
          bad,
        );
      }
    });

    it('when ts_event is not a timestamp or not a real date, then the reason says so', () => {
      assert.equal(
        reasonOf(validateEvent(reading({ ts_event: 'yesterday' }), NOW)),
        'ts_event must be an ISO-8601 timestamp',
      );
      assert.equal(
        reasonOf(validateEvent(reading({ ts_event: '2026-13-01T00:00:00Z' }), NOW)),
        'ts_event 2026-13-01T00:00:00Z is not a valid date',
      );
      assert.equal(
        reasonOf(validateEvent(reading({ ts_event: '2026-02-30T00:00:00Z' }), NOW)),
        'ts_event 2026-02-30T00:00:00Z is not a valid date',
      );
    });

    it('when ts_event is further ahead than the allowed clock skew, then it is rejected', () => {
      const limit = new Date(NOW + DEFAULT_LIMITS.maxFutureMs).toISOString();
      accepted(validateEvent(reading({ ts_event: limit }), NOW));
      const beyond = new Date(NOW + DEFAULT_LIMITS.maxFutureMs + 1).toISOString();
      assert.equal(
        reasonOf(validateEvent(reading({ ts_event: beyond }), NOW)),
        `ts_event ${beyond} is too far in the future`,
      );
    });

    it('when ts_event is older than the raw retention, then it is rejected', () => {
      const oldest = new Date(NOW - DEFAULT_LIMITS.maxAgeMs).toISOString();
      accepted(validateEvent(reading({ ts_event: oldest }), NOW));
      const older = new Date(NOW - DEFAULT_LIMITS.maxAgeMs - 1).toISOString();
      assert.equal(
        reasonOf(validateEvent(reading({ ts_event: older }), NOW)),
        `ts_event ${older} is older than the raw retention`,
      );
    });

    it('when limits are given, then they replace the defaults', () => {
      const limits = { ...DEFAULT_LIMITS, maxFutureMs: 0, maxAgeMs: MINUTE_MS };
      const ahead = new Date(NOW + 1).toISOString();
      assert.match(reasonOf(validateEvent(reading({ ts_event: ahead }), NOW, limits)), /future/);
      const old = new Date(NOW - 2 * MINUTE_MS).toISOString();
      assert.match(reasonOf(validateEvent(reading({ ts_event: old }), NOW, limits)), /retention/);
    });
  });

  describe('decodeEvent', () => {
    it('when the message is a valid JSON event, then it decodes and validates', () => {
      const result = accepted(decodeEvent(bytes(JSON.stringify(reading())), NOW));
      assert.equal(result.event.ts_event, '2026-03-01T11:59:30.000Z');
    });

    it('when the message is empty or null, then the reason is "empty message"', () => {
      assert.equal(reasonOf(decodeEvent(null, NOW)), 'empty message');
      assert.equal(reasonOf(decodeEvent(new Uint8Array(0), NOW)), 'empty message');
    });

    it('when the message is larger than the limit, then the reason gives both sizes', () => {
      const size = DEFAULT_LIMITS.maxBytes + 1;
      assert.equal(
        reasonOf(decodeEvent(new Uint8Array(size).fill(0x20), NOW)),
        `message of ${size} bytes exceeds ${DEFAULT_LIMITS.maxBytes}`,
      );
      accepted(decodeEvent(bytes(JSON.stringify(reading()).padEnd(DEFAULT_LIMITS.maxBytes)), NOW));
    });

    it('when the message is not UTF-8, then the reason says so', () => {
      assert.equal(
        reasonOf(decodeEvent(Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d), NOW)),
        'message is not valid UTF-8',
      );
    });

    it('when the message is malformed JSON, then the reason says so with the parser message', () => {
      for (const text of ['{"event_id":', "{'a': 1}", 'NaN', '{"value": 1,}']) {
        assert.match(reasonOf(decodeEvent(bytes(text), NOW)), /^malformed JSON: .+/, text);
      }
    });

    it('when the JSON is not an object or is an array, then the reason says so', () => {
      for (const text of ['42', '"text"', 'null', 'true', '[]', JSON.stringify([reading()])]) {
        assert.equal(reasonOf(decodeEvent(bytes(text), NOW)), 'event must be a JSON object', text);
      }
    });
  });

  describe('parseEventTime', () => {
    it('when the time has an offset, then it is honoured', () => {
      assert.equal(parseEventTime('2026-03-01T12:00:00Z'), NOW);
      assert.equal(parseEventTime('2026-03-01T14:00:00+02:00'), NOW);
      assert.equal(parseEventTime('2026-03-01T14:00:00+0200'), NOW);
      assert.equal(parseEventTime('2026-03-01T07:00:00-05'), NOW);
    });

    it('when the time has no offset, then it is UTC', () => {
      assert.equal(parseEventTime('2026-03-01T12:00:00'), NOW);
      assert.equal(parseEventTime('2026-03-01T12:00'), NOW);
      assert.equal(parseEventTime('2026-03-01 12:00:00.250'), NOW + 250);
    });

    it('when the calendar day does not exist, then the result is NaN', () => {
      assert.ok(Number.isNaN(parseEventTime('2026-02-29T00:00:00Z')));
      assert.ok(Number.isNaN(parseEventTime('2026-04-31T00:00:00')));
      assert.equal(parseEventTime('2028-02-29T00:00:00Z'), Date.UTC(2028, 1, 29));
    });

    it('when the text is not a time, then the result is NaN', () => {
      assert.ok(Number.isNaN(parseEventTime('')));
      assert.ok(Number.isNaN(parseEventTime('yesterday')));
    });

    it('when the time is spelled canonically, then it reads as Date.parse reads it', () => {
      // Every day from 1999 to 2101 (leap years, centuries, month ends) at varied times of day.
      const first = Date.UTC(1999, 0, 1);
      for (let day = 0; day < 37_600; day++) {
        const ms = first + day * 86_400_000 + ((day * 7_919_777) % 86_400_000);
        const text = new Date(ms).toISOString();
        assert.equal(parseEventTime(text), ms, text);
      }
      for (const text of ['0100-03-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z']) {
        assert.equal(parseEventTime(text), Date.parse(text), text);
      }
    });

    it('when a canonically shaped time is impossible or holds a non-digit, then it is NaN', () => {
      for (const text of [
        '2026-02-29T00:00:00.000Z',
        '2100-02-29T00:00:00.000Z',
        '2026-04-31T00:00:00.000Z',
        '2026-00-10T00:00:00.000Z',
        '2026-13-10T00:00:00.000Z',
        '2026-01-00T00:00:00.000Z',
        '2026-01-10T23:60:00.000Z',
        '2026-01-10T23:59:60.000Z',
        '2026-01-1aT00:00:00.000Z',
        '2026-01-10T00:00:00.00aZ',
        '2026-01-10T00:00:00.000+',
        '20x6-01-10T00:00:00.000Z',
      ]) {
        assert.ok(Number.isNaN(parseEventTime(text)), text);
      }
      assert.equal(parseEventTime('2000-02-29T00:00:00.000Z'), Date.UTC(2000, 1, 29));
      assert.equal(parseEventTime('0099-01-01T00:00:00.000Z'), Date.parse('0099-01-01T00:00:00Z'));
    });
  });

  describe('newEventId', () => {
    it('when ids are made, then each is a UUIDv7 whose first 48 bits are the given time', () => {
      for (const ms of [0, 1, NOW, 2 ** 48 - 1]) {
        const id = newEventId(ms);
        assert.match(id, UUID_V7);
        assert.equal(uuidV7Ms(id), ms);
      }
    });

    it('when ids are made in one millisecond, then they differ and sort after earlier ones', () => {
      const earlier = newEventId(NOW - 1);
      const ids = new Set(Array.from({ length: 1000 }, () => newEventId(NOW)));
      assert.equal(ids.size, 1000);
      for (const id of ids) assert.ok(id > earlier, `${id} sorts before ${earlier}`);
    });

    it('when the time has no 48-bit millisecond spelling, then it throws a RangeError', () => {
      for (const ms of [-1, 2 ** 48, Number.NaN]) assert.throws(() => newEventId(ms), RangeError);
    });
  });

  describe('completeEvent', () => {
    it('when event_id and ts_event are absent, then both are filled in', () => {
      const partial = without(reading(), 'event_id', 'ts_event');
      const completed = completeEvent(partial, NOW) as Record<string, unknown>;
      assert.match(String(completed.event_id), UUID_V7);
      assert.equal(completed.ts_event, '2026-03-01T12:00:00.000Z');
      accepted(validateEvent(completed, NOW));
    });

    it('when event_id and ts_event are present, then they are kept', () => {
      assert.deepEqual(completeEvent(reading(), NOW), reading());
    });

    it('when called twice, then each call makes a new event_id', () => {
      const partial = without(reading(), 'event_id');
      const first = completeEvent(partial, NOW) as Record<string, unknown>;
      const second = completeEvent(partial, NOW) as Record<string, unknown>;
      assert.notEqual(first.event_id, second.event_id);
    });

    it('when it fills in an event_id, then the id is a UUIDv7 carrying the submission time', () => {
      const partial = without(reading(), 'event_id');
      const completed = completeEvent(partial, NOW) as Record<string, unknown>;
      assert.equal(uuidV7Ms(String(completed.event_id)), NOW);
    });

    it('when the input is not an object, then it is returned unchanged for validation to reject', () => {
      const list = [reading()];
      for (const candidate of [null, 'text', 7, list]) {
        assert.equal(completeEvent(candidate, NOW), candidate);
      }
    });
  });
});
