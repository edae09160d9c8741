import { isUtf8 } from 'node:buffer';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import { newEventId } from './event-id.ts';
import { SENSORS, SENSOR_TYPES } from './sensors.ts';

const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]*$';
/** ISO-8601 date-time; the offset may be missing (the original sent naive UTC). */
const TIMESTAMP_PATTERN =
  '^\\d{4}-\\d{2}-\\d{2}[Tt ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?([Zz]|[+-]\\d{2}(:?\\d{2})?)?$';

/**
 * The UUID spellings PostgreSQL's `uuid` type reads: the format `uuid` alone also lets
 * `urn:uuid:…` through, which the store then refused, stalling the partition.
 */
const UUID_PATTERN =
  '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$';

const id = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: ID_PATTERN });

/**
 * Event contract v1: the original's wire format, field for field. It accepts only what the store
 * can hold: ids of ASCII letters, digits and `._:-` (no NUL, which PostgreSQL text cannot hold)
 * within the lengths the indexes take, a UUID PostgreSQL reads, values within physical ranges.
 */
export const TelemetryEventSchema = Type.Object({
  event_id: Type.String({ format: 'uuid', pattern: UUID_PATTERN }),
  device_id: id(128),
  site_id: id(64),
  zone_id: id(64),
  sensor_type: Type.Union(SENSOR_TYPES.map((s) => Type.Literal(s))),
  value: Type.Number(),
  ts_event: Type.String({ pattern: TIMESTAMP_PATTERN, maxLength: 40 }),
});

export type TelemetryEvent = Static<typeof TelemetryEventSchema>;

export interface ValidEvent {
  ok: true;
  event: TelemetryEvent;
  /** Event time in epoch milliseconds. */
  tsMs: number;
}
export interface InvalidEvent {
  ok: false;
  reason: string;
}
export type ValidationResult = ValidEvent | InvalidEvent;

export interface ValidationLimits {
  /** Largest accepted payload in bytes. */
  maxBytes: number;
  /** How far ahead of `now` an event time may be (clock skew). */
  maxFutureMs: number;
  /** How old an event may be; older ones are outside raw retention. */
  maxAgeMs: number;
}

export const DEFAULT_LIMITS: ValidationLimits = {
  maxBytes: 16 * 1024,
  maxFutureMs: 5 * 60_000,
  maxAgeMs: 30 * 24 * 3600_000,
};

const ajv = new Ajv({ allErrors: false, removeAdditional: 'all', strict: true });
// UUID_PATTERN checks event_id, and more strictly: a second check of the format would only cost
// a regular expression per event. The format stays in the schema for the API's documentation.
ajv.addFormat('uuid', true);
const checkSchema = ajv.compile<TelemetryEvent>(TelemetryEventSchema);

function describe(error: ErrorObject | undefined): string {
  if (!error) return 'invalid event';
  const field = error.instancePath.replace(/^\//, '');
  if (error.keyword === 'required') {
    return `missing field ${(error.params as { missingProperty: string }).missingProperty}`;
  }
  if (field === 'sensor_type') return `sensor_type must be one of ${SENSOR_TYPES.join(', ')}`;
  if (field === 'event_id') return 'event_id must be a UUID (8-4-4-4-12 hexadecimal digits)';
  if (field === 'ts_event') return 'ts_event must be an ISO-8601 timestamp';
  return `${field || 'event'} ${error.message ?? 'is invalid'}`;
}

/**
 * Parses an ISO timestamp to epoch ms (NaN when it is no real time). One without an offset is UTC,
 * as the original meant it. A canonical one (every validated event's ts_event) is read without
 * date-string parsing.
 */
export function parseEventTime(text: string): number {
  const canonical = canonicalTimeMs(text);
  if (!Number.isNaN(canonical)) return canonical;
  const offset = /([Zz]|[+-]\d{2}(:?\d{2})?)$/.exec(text.slice(10))?.[0];
  // Date.parse knows no hour-only offset (`-05`), which ISO-8601 and the contract allow.
  const full = offset === undefined ? `${text}Z` : /^[+-]\d{2}$/.test(offset) ? `${text}:00` : text;
  // Date.parse rolls an impossible day over (Feb 30 becomes Mar 2): the calendar day must exist.
  const [year = NaN, month = NaN, day = NaN] = text.slice(0, 10).split('-').map(Number);
  const calendar = new Date(Date.UTC(year, month - 1, day));
  if (calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return NaN;
  return Date.parse(full);
}

const CANONICAL_SHAPE = 'YYYY-MM-DDTHH:MM:SS.mmmZ';
const CANONICAL_LENGTH = CANONICAL_SHAPE.length;
/** Where the canonical spelling has its separators, and their character codes. */
const CANONICAL_SEPARATORS = [4, 7, 10, 13, 16, 19, 23].map(
  (at) => [at, CANONICAL_SHAPE.charCodeAt(at)] as const,
);

/** The decimal digit at text[at]; NaN for any other character. */
function digit(text: string, at: number): number {
  const d = text.charCodeAt(at) - 48;
  return d >= 0 && d <= 9 ? d : NaN;
}
const twoDigits = (text: string, at: number) => digit(text, at) * 10 + digit(text, at + 1);

const isLeapYear = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days from 1970-01-01 to a day of the Gregorian calendar (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/**
 * Epoch ms of a time spelled canonically (`2026-03-01T11:59:30.000Z`: what producers normally
 * send, and every stored ts_event), read digit by digit: Date.parse and Date.UTC cost several
 * hundred ns each, and the processor reads every event's time more than once. NaN for any other
 * spelling or an impossible time; the general parser then decides.
 */
function canonicalTimeMs(text: string): number {
  if (text.length !== CANONICAL_LENGTH) return NaN;
  for (const [at, code] of CANONICAL_SEPARATORS) if (text.charCodeAt(at) !== code) return NaN;
  const year = twoDigits(text, 0) * 100 + twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const hour = twoDigits(text, 11);
  const minute = twoDigits(text, 14);
  const second = twoDigits(text, 17);
  const ms = twoDigits(text, 20) * 10 + digit(text, 22);
  const lastDay = month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  // A non-digit made one of them NaN, which fails no comparison below: checked on its own.
  if (Number.isNaN(year + month + day + hour + minute + second + ms)) return NaN;
  if (day < 1 || day > lastDay || hour > 23 || minute > 59 || second > 59) return NaN;
  const days = daysFromCivil(year, month, day);
  return days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1_000 + ms;
}

/** The event time in epoch ms and its canonical spelling, kept as sent when already canonical. */
function eventTime(text: string): { tsMs: number; canonical: string } | undefined {
  const fast = canonicalTimeMs(text);
  if (!Number.isNaN(fast)) return { tsMs: fast, canonical: text };
  const tsMs = parseEventTime(text);
  return Number.isNaN(tsMs) ? undefined : { tsMs, canonical: new Date(tsMs).toISOString() };
}

/** Checks a decoded event object against the contract; fills nothing in. */
export function validateEvent(
  candidate: unknown,
  now: number = Date.now(),
  limits: ValidationLimits = DEFAULT_LIMITS,
): ValidationResult {
  if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) {
    return { ok: false, reason: 'event must be a JSON object' };
  }
  if (!checkSchema(candidate)) return { ok: false, reason: describe(checkSchema.errors?.[0]) };
  const event = candidate;
  const spec = SENSORS[event.sensor_type];
  if (event.value < spec.min || event.value > spec.max) {
    return {
      ok: false,
      reason: `value ${event.value} out of range for ${event.sensor_type} (${spec.min}..${spec.max} ${spec.unit})`,
    };
  }
  if (spec.integer && !Number.isInteger(event.value)) {
    return {
      ok: false,
      reason: `value ${event.value} must be a whole number for ${event.sensor_type}`,
    };
  }
  const time = eventTime(event.ts_event);
  if (!time) return { ok: false, reason: `ts_event ${event.ts_event} is not a valid date` };
  const { tsMs } = time;
  if (tsMs > now + limits.maxFutureMs) {
    return { ok: false, reason: `ts_event ${event.ts_event} is too far in the future` };
  }
  if (tsMs < now - limits.maxAgeMs) {
    return { ok: false, reason: `ts_event ${event.ts_event} is older than the raw retention` };
  }
  // One canonical spelling of the id and the time, so copies deduplicate on the same key. The
  // schema has removed any other property; a literal of fixed shape is cheaper than a spread.
  return {
    ok: true,
    event: {
      event_id: event.event_id.toLowerCase(),
      device_id: event.device_id,
      site_id: event.site_id,
      zone_id: event.zone_id,
      sensor_type: event.sensor_type,
      value: event.value,
      ts_event: time.canonical,
    },
    tsMs,
  };
}

/** Decodes and validates a message as it arrives from Kafka. */
export function decodeEvent(
  bytes: Uint8Array | null,
  now: number = Date.now(),
  limits: ValidationLimits = DEFAULT_LIMITS,
): ValidationResult {
  if (!bytes || bytes.length === 0) return { ok: false, reason: 'empty message' };
  if (bytes.length > limits.maxBytes) {
    return { ok: false, reason: `message of ${bytes.length} bytes exceeds ${limits.maxBytes}` };
  }
  // isUtf8 and toString are SIMD-backed; a fatal TextDecoder cost more per message. Like the
  // TextDecoder, a leading byte order mark is dropped.
  if (!isUtf8(bytes)) return { ok: false, reason: 'message is not valid UTF-8' };
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + bom, bytes.byteLength - bom).toString();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `malformed JSON: ${(error as Error).message}` };
  }
  return validateEvent(parsed, now, limits);
}

/** Completes an event submitted over HTTP: the original filled in event_id and ts_event. */
export function completeEvent(candidate: unknown, now: number = Date.now()): unknown {
  if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) {
    return candidate;
  }
  const record = candidate as Record<string, unknown>;
  return {
    ...record,
    event_id: record.event_id ?? newEventId(now),
    ts_event: record.ts_event ?? new Date(now).toISOString(),
  };
}
