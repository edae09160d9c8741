import type { Message, Producer } from 'kafkajs';
import type { Rejected } from './batch.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function asText(bytes: Buffer | null): { text: string; exact: boolean } {
  if (!bytes) return { text: '', exact: true };
  try {
    return { text: utf8.decode(bytes), exact: true };
  } catch {
    return { text: bytes.toString('utf8'), exact: false };
  }
}

/**
 * The dead-letter record keeps the original's shape ({error, original_payload}) and adds where
 * the message came from; bytes that are not UTF-8 also travel base64-encoded, unaltered.
 */
export function deadLetter(
  rejected: Rejected,
  source: { topic: string; partition: number },
  now: Date,
): Message {
  const { text, exact } = asText(rejected.message.value);
  const record: Record<string, unknown> = {
    error: rejected.reason,
    original_payload: text,
    source_topic: source.topic,
    source_partition: source.partition,
    source_offset: rejected.message.offset,
    rejected_at: now.toISOString(),
  };
  if (!exact && rejected.message.value) {
    record.original_payload_base64 = rejected.message.value.toString('base64');
  }
  return {
    key: rejected.message.key ?? null,
    value: JSON.stringify(record),
    headers: { 'x-dlq-reason': rejected.reason.slice(0, 200) },
  };
}

/** Publishes a batch's rejects; resolves once the broker has them (acks from all replicas). */
export async function sendToDeadLetters(
  producer: Producer,
  topic: string,
  rejected: readonly Rejected[],
  source: { topic: string; partition: number },
): Promise<void> {
  if (rejected.length === 0) return;
  const now = new Date();
  await producer.send({
    topic,
    acks: -1,
    messages: rejected.map((r) => deadLetter(r, source, now)),
  });
}
