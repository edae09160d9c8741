import { decodeEvent, type TelemetryEvent, type ValidationLimits } from '@telemetrypulse/shared';

export interface IncomingMessage {
  offset: string;
  key?: Buffer | null;
  value: Buffer | null;
}

export interface Rejected {
  message: IncomingMessage;
  reason: string;
}

export interface DecodedBatch {
  events: TelemetryEvent[];
  rejected: Rejected[];
}

/**
 * Splits a Kafka batch into valid events and rejects with their reason. A message repeated
 * inside the batch is kept once: the database would ignore the copy anyway.
 */
export function decodeBatch(
  messages: readonly IncomingMessage[],
  now: number,
  limits: ValidationLimits,
): DecodedBatch {
  const events: TelemetryEvent[] = [];
  const rejected: Rejected[] = [];
  const seen = new Set<string>();
  for (const message of messages) {
    const result = decodeEvent(message.value, now, limits);
    if (!result.ok) {
      rejected.push({ message, reason: result.reason });
      continue;
    }
    const key = `${result.event.event_id}|${result.event.ts_event}`;
    if (seen.has(key)) continue;
    seen.add(key);
    events.push(result.event);
  }
  return { events, rejected };
}
