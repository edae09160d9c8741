import {
  completeEvent,
  validateEvent,
  type TelemetryEvent,
  type ValidationResult,
} from '@telemetrypulse/shared';

export interface ItemError {
  /** Position in the submitted batch. */
  index: number;
  reason: string;
}

export interface CheckedBatch {
  accepted: TelemetryEvent[];
  errors: ItemError[];
}

/** One event as the HTTP API takes it: event_id and ts_event are filled in when missing. */
export function checkEvent(candidate: unknown, now: number): ValidationResult {
  return validateEvent(completeEvent(candidate, now), now);
}

/** Splits a batch into the events that pass the contract and the reasons the others do not. */
export function checkBatch(items: readonly unknown[], now: number): CheckedBatch {
  const accepted: TelemetryEvent[] = [];
  const errors: ItemError[] = [];
  items.forEach((item, index) => {
    const result = checkEvent(item, now);
    if (result.ok) accepted.push(result.event);
    else errors.push({ index, reason: result.reason });
  });
  return { accepted, errors };
}
