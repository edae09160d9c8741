import { decodeEvent, type TelemetryEvent, type ValidationLimits } from '@telemetrypulse/shared';
import { copyOrigins, type Origins } from './origins.ts';

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
  /** The message each event came from, index for index: dead-lettered if the store refuses it. */
  origins: Origins;
  rejected: Rejected[];
}

/**
 * Splits a Kafka batch into valid events, in canonical form, and rejects with their reason. A
 * message repeated inside the batch is passed on as it is: the store keeps one copy.
 */
export function decodeBatch(
  messages: readonly IncomingMessage[],
  now: number,
  limits: ValidationLimits,
): DecodedBatch {
  const events: TelemetryEvent[] = [];
  const valid: IncomingMessage[] = [];
  const rejected: Rejected[] = [];
  for (const message of messages) {
    const result = decodeEvent(message.value, now, limits);
    if (result.ok) {
      events.push(result.event);
      valid.push(message);
    } else rejected.push({ message, reason: result.reason });
  }
  return { events, origins: copyOrigins(valid), rejected };
}
