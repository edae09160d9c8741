// The pure half of the DLQ replay: dead letter → original message, selection, and the tally.
import type { Message } from 'kafkajs';
import { reasonLabel } from '../ops/metrics.ts';

/** A message as read from the dead-letter topic. */
export interface DeadLetterMessage {
  offset: string;
  key?: Buffer | null;
  value: Buffer | null;
}

export type DecodedDeadLetter =
  | { ok: true; reason: string; key: Buffer | null; value: Buffer }
  /** `incomplete`: a readable letter without the whole original; `reason` is its rejection. */
  | { ok: false; problem: string; incomplete?: { reason: string } };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Why a letter that does not carry the whole original cannot be replayed. */
function whyIncomplete(record: Record<string, unknown>): string {
  const size = typeof record.original_size === 'number' ? `${record.original_size} bytes` : 'it';
  const digest =
    typeof record.original_sha256 === 'string' ? `, SHA-256 ${record.original_sha256}` : '';
  if (typeof record.payload_dropped === 'string') {
    return `not replayable: the letter carries none of the original's ${size}${digest} (${record.payload_dropped})`;
  }
  return `not replayable: the letter carries only the start of the original's ${size}${digest} (cut to DLQ_MAX_PAYLOAD_BYTES)`;
}

/**
 * Recovers the rejected message from a dead letter (see ingest/dlq.ts): its key, and its bytes from
 * `original_payload_base64` when present (not UTF-8), else from `original_payload`. Records of
 * the original system carry only {error, original_payload} and decode the same way. A letter
 * marked `truncated` holds only part of the original, or none, and is not replayed.
 */
export function decodeDeadLetter(message: DeadLetterMessage): DecodedDeadLetter {
  let record: unknown;
  try {
    record = JSON.parse(message.value?.toString('utf8') ?? '');
  } catch {
    return { ok: false, problem: 'not a JSON dead-letter record' };
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return { ok: false, problem: 'not a JSON dead-letter record' };
  }
  const {
    error,
    original_payload: text,
    original_payload_base64: base64,
  } = record as Record<string, unknown>;
  if (typeof error !== 'string') return { ok: false, problem: 'no error reason' };
  if ((record as Record<string, unknown>).truncated === true) {
    return {
      ok: false,
      problem: whyIncomplete(record as Record<string, unknown>),
      incomplete: { reason: error },
    };
  }
  const key = message.key ?? null;
  if (base64 !== undefined) {
    if (typeof base64 !== 'string' || !BASE64.test(base64)) {
      return { ok: false, problem: 'original_payload_base64 is not base64' };
    }
    return { ok: true, reason: error, key, value: Buffer.from(base64, 'base64') };
  }
  if (typeof text !== 'string') return { ok: false, problem: 'no original_payload' };
  return { ok: true, reason: error, key, value: Buffer.from(text, 'utf8') };
}

export interface ReplayFilter {
  /** Only dead letters whose reason matches are replayed; all when absent. */
  reason?: RegExp | undefined;
}

export function isSelected(filter: ReplayFilter, reason: string): boolean {
  return filter.reason === undefined || filter.reason.test(reason);
}

/** `incomplete`: selected, but the letter lacks the whole original, so it is not replayed. */
export type Outcome = 'selected' | 'not-selected' | 'unreadable' | 'incomplete';

export interface HandledLetter {
  offset: string;
  outcome: Outcome;
  /** The rejection reason, or what makes the dead letter unreadable. */
  reason: string;
}

export interface BatchPlan {
  /** What to publish to the target topic, in dead-letter order. */
  replay: Message[];
  handled: HandledLetter[];
  /** The offset to commit (one past the last message handled); null when none was. */
  nextOffset: string | null;
  /** The selection limit stopped the plan before the batch or range ended. */
  limitReached: boolean;
}

export interface PlanOptions {
  source: { topic: string; partition: number };
  /** Messages before `fromOffset` were already handled in this run (redelivery) and are skipped. */
  fromOffset: string;
  /** The end offset captured at start: messages at or after it are left for a later run. */
  endOffset: string;
  filter: ReplayFilter;
  /** How many more messages may be selected. */
  remaining: number;
}

/** Decides, for one fetched batch of dead letters, what to republish and how far to commit. */
export function planBatch(messages: readonly DeadLetterMessage[], options: PlanOptions): BatchPlan {
  const from = BigInt(options.fromOffset);
  const end = BigInt(options.endOffset);
  const plan: BatchPlan = { replay: [], handled: [], nextOffset: null, limitReached: false };
  for (const message of messages) {
    const offset = BigInt(message.offset);
    if (offset < from) continue;
    if (offset >= end) break;
    if (plan.replay.length >= options.remaining) {
      plan.limitReached = true;
      break;
    }
    const letter = decodeDeadLetter(message);
    if (!letter.ok && letter.incomplete && !isSelected(options.filter, letter.incomplete.reason)) {
      plan.handled.push({
        offset: message.offset,
        outcome: 'not-selected',
        reason: letter.incomplete.reason,
      });
    } else if (!letter.ok) {
      const outcome = letter.incomplete ? 'incomplete' : 'unreadable';
      plan.handled.push({ offset: message.offset, outcome, reason: letter.problem });
    } else if (!isSelected(options.filter, letter.reason)) {
      plan.handled.push({ offset: message.offset, outcome: 'not-selected', reason: letter.reason });
    } else {
      plan.handled.push({ offset: message.offset, outcome: 'selected', reason: letter.reason });
      const { topic, partition } = options.source;
      plan.replay.push({
        key: letter.key,
        value: letter.value,
        headers: { 'x-replayed-from': `${topic}/${partition}/${message.offset}` },
      });
    }
    plan.nextOffset = (offset + 1n).toString();
  }
  if (plan.replay.length >= options.remaining && plan.nextOffset !== null) {
    plan.limitReached ||= BigInt(plan.nextOffset) < end;
  }
  return plan;
}

export interface ReasonCount {
  read: number;
  selected: number;
  /** One full reason text of this kind, to show what the label stands for. */
  example: string;
}

export interface ReplayTally {
  read: number;
  selected: number;
  notSelected: number;
  unreadable: number;
  /** Selected letters without the whole original (cut or dropped): not replayed. */
  incomplete: number;
  /**
   * By low-cardinality reason label (the processor's metric label); `unreadable` for bad
   * records, `incomplete` for letters without the whole original.
   */
  byReason: Record<string, ReasonCount>;
}

export function emptyTally(): ReplayTally {
  return { read: 0, selected: 0, notSelected: 0, unreadable: 0, incomplete: 0, byReason: {} };
}

/** The tally with the handled letters added; the input is left as it is. */
export function addToTally(tally: ReplayTally, handled: readonly HandledLetter[]): ReplayTally {
  const next: ReplayTally = { ...tally, byReason: { ...tally.byReason } };
  for (const letter of handled) {
    next.read++;
    if (letter.outcome === 'selected') next.selected++;
    if (letter.outcome === 'not-selected') next.notSelected++;
    if (letter.outcome === 'unreadable') next.unreadable++;
    if (letter.outcome === 'incomplete') next.incomplete++;
    const label =
      letter.outcome === 'unreadable' || letter.outcome === 'incomplete'
        ? letter.outcome
        : reasonLabel(letter.reason);
    const count = next.byReason[label] ?? { read: 0, selected: 0, example: letter.reason };
    next.byReason[label] = {
      read: count.read + 1,
      selected: count.selected + (letter.outcome === 'selected' ? 1 : 0),
      example: count.example,
    };
  }
  return next;
}
