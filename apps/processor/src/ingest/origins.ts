import type { IncomingMessage } from './batch.ts';

/** The message each of a batch's valid events came from, index for index. */
export interface Origins {
  readonly length: number;
  /** Event `index`'s message: its offset, key and value as received. */
  at(index: number): IncomingMessage;
}

const ABSENT = -1;

/**
 * The messages' offsets, keys and values, the bytes copied into one buffer of their own. A
 * message from kafkajs is an object with two Buffer views into the whole fetch response; held
 * for every event until its group is stored, those views kept the responses alive and the
 * objects reached V8's old generation (some 25 MiB more at the replica's peak RSS). Messages are
 * rebuilt only when asked for: for a dead letter, rarely.
 */
export function copyOrigins(messages: readonly IncomingMessage[]): Origins {
  const n = messages.length;
  let size = 0;
  for (const m of messages) size += (m.key?.length ?? 0) + (m.value?.length ?? 0);
  // Not from Node's shared pool: a small batch would otherwise keep a pool slab alive.
  const bytes = Buffer.allocUnsafeSlow(size);
  const offsets = new Array<string>(n);
  // Per message: where its key starts, its key's length and its value's length (ABSENT: null).
  const layout = new Int32Array(n * 3);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const { offset, key, value } = messages[i] as IncomingMessage;
    offsets[i] = offset;
    layout[i * 3] = at;
    layout[i * 3 + 1] = key ? key.copy(bytes, at) : ABSENT;
    at += key?.length ?? 0;
    layout[i * 3 + 2] = value ? value.copy(bytes, at) : ABSENT;
    at += value?.length ?? 0;
  }
  return {
    length: n,
    at(index) {
      const offset = offsets[index];
      if (offset === undefined) throw new RangeError(`no message ${index} of ${n}`);
      const start = layout[index * 3] ?? 0;
      const keyLength = layout[index * 3 + 1] ?? ABSENT;
      const valueLength = layout[index * 3 + 2] ?? ABSENT;
      const valueStart = start + Math.max(keyLength, 0);
      return {
        offset,
        key: keyLength === ABSENT ? null : bytes.subarray(start, start + keyLength),
        value: valueLength === ABSENT ? null : bytes.subarray(valueStart, valueStart + valueLength),
      };
    },
  };
}
