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

/** Throws a 400 problem for anything encodeCursor did not make. */
export function decodeCursor(cursor: string, parameter = 'cursor'): Position {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(decoded) &&
      decoded.length === 2 &&
      Number.isSafeInteger(decoded[0]) &&
      Number.isSafeInteger(decoded[1])
    ) {
      return { timeMs: decoded[0] as number, id: decoded[1] as number };
    }
  } catch {
    // falls through to the problem below
  }
  throw invalidParameter(parameter, `${parameter} is not a cursor this API returned`);
}
