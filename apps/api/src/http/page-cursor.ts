import { invalidParameter } from './problem.ts';

/** A position in a list ordered by (time desc, id desc): the last item of the previous page. */
export interface Position {
  timeMs: number;
  id: number;
}

/** Opaque to clients: they pass it back as it is; its shape may change between versions. */
export function encodeCursor({ timeMs, id }: Position): string {
  return Buffer.from(JSON.stringify([timeMs, id])).toString('base64url');
}

/** The latest instant a JavaScript Date holds (and so PostgreSQL is given). */
const MAX_TIME_MS = 8.64e15;

const isPosition = (decoded: unknown): decoded is [number, number] =>
  Array.isArray(decoded) &&
  decoded.length === 2 &&
  Number.isSafeInteger(decoded[0]) &&
  Number.isSafeInteger(decoded[1]) &&
  // Positions of stored rows: a time after 1970 and a positive id. Anything else was crafted.
  (decoded[0] as number) >= 0 &&
  (decoded[0] as number) <= MAX_TIME_MS &&
  (decoded[1] as number) >= 1;

/** Throws a 400 problem for anything encodeCursor did not make. */
export function decodeCursor(cursor: string, parameter = 'cursor'): Position {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    // not JSON: the problem below
  }
  if (isPosition(decoded)) return { timeMs: decoded[0], id: decoded[1] };
  throw invalidParameter(parameter, `${parameter} is not a cursor this API returned`);
}
