import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { Message, Producer } from 'kafkajs';
import type { IncomingMessage } from './batch.ts';

/** A message to dead-letter: what it was, where it came from, and why. */
export interface Letter {
  message: IncomingMessage;
  reason: string;
  source: { topic: string; partition: number };
}

export interface LetterLimits {
  /** The original bytes a letter carries at most; the rest is cut (truncated: true). */
  maxPayloadBytes: number;
}

/** The error text a letter carries at most (the header: 200 characters). */
const MAX_REASON_CHARS = 1000;
/**
 * The letters one produce request carries at most, by their size: below the broker's default
 * message.max.bytes (1 MiB), which bounds a partition's record batch, whatever the letters.
 */
export const MAX_SEND_BYTES = 512 * 1024;

/** The longest prefix of `bytes` of at most `max` bytes that does not split a UTF-8 character. */
function utf8Prefix(bytes: Buffer, max: number): Buffer {
  let end = Math.min(max, bytes.length);
  // Back off continuation bytes (10xxxxxx) so the cut falls before a character's first byte.
  while (end < bytes.length && end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/** What every letter carries: the reason, where the message came from, its size and digest. */
function envelope(letter: Letter, now: Date): Record<string, unknown> {
  const value = letter.message.value ?? Buffer.alloc(0);
  return {
    error: letter.reason.slice(0, MAX_REASON_CHARS),
    source_topic: letter.source.topic,
    source_partition: letter.source.partition,
    source_offset: letter.message.offset,
    rejected_at: now.toISOString(),
    original_size: value.length,
    original_sha256: createHash('sha256').update(value).digest('hex'),
  };
}

/**
 * The dead-letter record keeps the original's shape ({error, original_payload}), says where the
 * message came from, and its size and SHA-256, so the original can be recognised. Bytes that are
 * not UTF-8 also travel base64-encoded, unaltered. Only the first `maxPayloadBytes` bytes travel
 * (`truncated: true` when cut): a whole message near the broker's limit, or one of invalid bytes
 * (its letter grows about sevenfold: escaped text plus base64), would not fit in a letter.
 */
export function deadLetter(letter: Letter, now: Date, limits: LetterLimits): Message {
  const value = letter.message.value ?? Buffer.alloc(0);
  const wholeIsText = isUtf8(value);
  const kept = wholeIsText
    ? utf8Prefix(value, limits.maxPayloadBytes)
    : value.subarray(0, limits.maxPayloadBytes);
  const record: Record<string, unknown> = {
    ...envelope(letter, now),
    truncated: kept.length < value.length,
    original_payload: kept.toString('utf8'),
  };
  if (!wholeIsText) record.original_payload_base64 = kept.toString('base64');
  return {
    key: letter.message.key ?? null,
    value: JSON.stringify(record),
    headers: { 'x-dlq-reason': letter.reason.slice(0, 200) },
  };
}

/** The letter without the original (nor its key), for when the broker refuses the full one. */
export function minimalLetter(letter: Letter, now: Date, brokerError: string): Message {
  const record = {
    ...envelope(letter, now),
    truncated: true,
    payload_dropped: `the broker refused the letter with the payload: ${brokerError}`.slice(
      0,
      MAX_REASON_CHARS,
    ),
  };
  return {
    key: null,
    value: JSON.stringify(record),
    headers: { 'x-dlq-reason': letter.reason.slice(0, 200) },
  };
}

/** Broker errors that refuse these records for good, whatever the retry: too large, invalid. */
const REFUSED_RECORD = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD']);

/** The broker refuses the records themselves (kafkajs wraps the protocol error in causes). */
export function isRecordRefused(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && depth < 5; depth++) {
    const { type, cause } = e as { type?: unknown; cause?: unknown };
    if (typeof type === 'string' && REFUSED_RECORD.has(type)) return type;
    e = cause;
  }
  return undefined;
}

const sizeOf = (message: Message) =>
  (typeof message.value === 'string'
    ? Buffer.byteLength(message.value)
    : (message.value?.length ?? 0)) + (message.key?.length ?? 0);

/** Consecutive runs of messages of at most `maxBytes` together (one alone may be larger). */
export function chunksBySize<T>(items: readonly T[], size: (item: T) => number, maxBytes: number) {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = size(item);
    if (current.length > 0 && bytes + n > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += n;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export interface SendOutcome {
  /** Letters sent whole or cut to the payload limit. */
  sent: number;
  /** Letters cut to maxPayloadBytes. */
  truncated: number;
  /** Letters sent without their payload: the broker refused the full one. */
  payloadDropped: number;
  /** Letters the broker refused even without payload: logged by the caller, and gone. */
  lost: { letter: Letter; error: unknown }[];
}

/**
 * Publishes letters; resolves once the broker has them (acks from all replicas). Letters go in
 * requests of at most MAX_SEND_BYTES. A request the broker refuses as too large or invalid is
 * sent again letter by letter, a refused letter again without its payload, and one refused even
 * so is given up (in `lost`), so such a letter never stops the partition. Other errors throw, for
 * the caller to retry. A retry after a partly sent request may repeat letters (at least once).
 */
export async function sendDeadLetters(
  producer: Producer,
  topic: string,
  letters: readonly Letter[],
  limits: LetterLimits,
): Promise<SendOutcome> {
  const outcome: SendOutcome = { sent: 0, truncated: 0, payloadDropped: 0, lost: [] };
  if (letters.length === 0) return outcome;
  const now = new Date();
  const send = (messages: Message[]) => producer.send({ topic, acks: -1, messages });
  const built = letters.map((letter) => ({ letter, message: deadLetter(letter, now, limits) }));
  const isCut = (letter: Letter) => (letter.message.value?.length ?? 0) > limits.maxPayloadBytes;
  for (const chunk of chunksBySize(built, (b) => sizeOf(b.message), MAX_SEND_BYTES)) {
    try {
      await send(chunk.map((b) => b.message));
      outcome.sent += chunk.length;
      outcome.truncated += chunk.filter((b) => isCut(b.letter)).length;
      continue;
    } catch (error) {
      if (!isRecordRefused(error)) throw error;
    }
    for (const { letter, message } of chunk) {
      try {
        await send([message]);
        outcome.sent++;
        if (isCut(letter)) outcome.truncated++;
        continue;
      } catch (error) {
        const refused = isRecordRefused(error);
        if (!refused) throw error;
        try {
          await send([minimalLetter(letter, now, refused)]);
          outcome.payloadDropped++;
        } catch (minimalError) {
          if (!isRecordRefused(minimalError)) throw minimalError;
          outcome.lost.push({ letter, error: minimalError });
        }
      }
    }
  }
  return outcome;
}
