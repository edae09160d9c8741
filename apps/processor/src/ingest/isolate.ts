import type { TelemetryEvent } from '@telemetrypulse/shared';
import { classifyStoreError } from './db-errors.ts';
import type { StoreResult } from './store.ts';

/** An event of the group the database refuses, by its index in the group. */
export interface Refusal {
  index: number;
  error: unknown;
}

export interface IsolatedResult {
  /** What the stored parts of the group did, in group order. */
  result: StoreResult;
  /** Events to dead-letter instead of storing, in group order. */
  refused: Refusal[];
}

/** The database refuses the statement for every part of the group tried: retried. */
export class StatementRefused extends Error {
  override name = 'StatementRefused';
}

/** Stores one slice of events in one transaction (storeBatch, timed). */
export type StoreSlice = (events: TelemetryEvent[]) => Promise<StoreResult>;

/** Runs work again after errors, with backoff, until it succeeds or is given up (retry.ts). */
export type Retrier = (work: () => Promise<void>) => Promise<void>;

/**
 * Stores a group so that one event the database refuses cannot stop it: the group is stored in
 * one transaction as before; if the database refuses it permanently (see db-errors.ts), the
 * group is split in halves, and the failing halves again, until the refused events are alone.
 * Those are returned for the dead-letter topic and the rest is stored, in order. k bad events
 * among n cost about 2k·log2(n) extra transactions.
 *
 * A transient error anywhere is retried with backoff (`retry`), and the retry resumes with
 * the events not yet stored or refused, so nothing is stored twice by this function (a crash
 * meanwhile leaves copies the store absorbs on redelivery).
 */
export async function storeIsolating(
  events: readonly TelemetryEvent[],
  store: StoreSlice,
  retry: Retrier,
): Promise<IsolatedResult> {
  // Allocated only once the group fails: the normal case costs one copy of the events array.
  let settled: Uint8Array | undefined;
  const parts: { from: number; result: StoreResult }[] = [];
  const refused: Refusal[] = [];
  let storedAny = false;

  /**
   * Stores the slice (the whole group when undefined); its error when the database refuses it
   * for good (transient ones throw).
   */
  const attempt = async (slice?: readonly number[]): Promise<unknown> => {
    try {
      const part = slice ? slice.map((i) => events[i] as TelemetryEvent) : [...events];
      const result = await store(part);
      if (slice) for (const i of slice) (settled ??= new Uint8Array(events.length))[i] = 1;
      else settled = new Uint8Array(events.length).fill(1);
      parts.push({ from: slice?.[0] ?? 0, result });
      storedAny ||= part.length > 0;
      return undefined;
    } catch (error) {
      if (classifyStoreError(error) === 'transient') throw error;
      return error;
    }
  };
  const refuse = (index: number, error: unknown) => {
    (settled ??= new Uint8Array(events.length))[index] = 1;
    refused.push({ index, error });
  };

  /** A slice the database refused: finds the events to blame. */
  const isolate = async (slice: readonly number[], error: unknown, suspects: Refusal[]) => {
    const [index] = slice;
    if (slice.length === 1 && index !== undefined) {
      if (classifyStoreError(error) === 'data') refuse(index, error);
      else suspects.push({ index, error });
      return;
    }
    const middle = Math.ceil(slice.length / 2);
    const halves = [slice.slice(0, middle), slice.slice(middle)];
    const failed: { half: number[]; error: unknown }[] = [];
    for (const half of halves) {
      const halfError = await attempt(half);
      if (halfError !== undefined) failed.push({ half, error: halfError });
    }
    const [first, second] = failed;
    if (
      first &&
      second &&
      classifyStoreError(first.error) === 'statement' &&
      classifyStoreError(second.error) === 'statement'
    ) {
      // Both halves refused by statement: the schema or a privilege, not one event.
      throw new StatementRefused('the database refuses the statement for every event', {
        cause: second.error,
      });
    }
    for (const { half, error: halfError } of failed) await isolate(half, halfError, suspects);
  };

  const pass = async () => {
    // The first pass, and any after a retry that found nothing settled, tries the whole group.
    const pending = settled ? events.flatMap((_, i) => (settled?.[i] === 1 ? [] : [i])) : undefined;
    if (pending?.length === 0) return;
    const error = await attempt(pending);
    if (error === undefined) return;
    const suspects: Refusal[] = [];
    await isolate(pending ?? Array.from(events, (_, i) => i), error, suspects);
    const [suspect] = suspects;
    if (suspect === undefined) return;
    // Refused by statement alone: blamed only if the statement stored other events.
    if (!storedAny) {
      throw new StatementRefused('the database refuses the statement', { cause: suspect.error });
    }
    for (const s of suspects) refuse(s.index, s.error);
  };

  await retry(pass);
  parts.sort((a, b) => a.from - b.from);
  refused.sort((a, b) => a.index - b.index);
  return { result: mergeResults(parts.map((p) => p.result)), refused };
}

function mergeResults(results: readonly StoreResult[]): StoreResult {
  if (results.length === 1 && results[0]) return results[0];
  return {
    stored: results.flatMap((r) => r.stored),
    duplicates: results.reduce((n, r) => n + r.duplicates, 0),
    incidents: results.flatMap((r) => r.incidents),
    transitions: results.flatMap((r) => r.transitions),
  };
}
