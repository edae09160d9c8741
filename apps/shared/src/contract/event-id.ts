import { randomUUID } from 'node:crypto';

const MAX_MS = 2 ** 48;

/**
 * A new event id: a UUID version 7 (RFC 9562), whose first 48 bits are the Unix time in
 * milliseconds. Ids made at about the same time sort together, so PostgreSQL appends them at the
 * right edge of the event-id index instead of touching a random leaf page per event (random
 * version 4 ids cost the database a few microseconds more per event; docs/performance.md).
 * The other 74 bits are the random ones of a version 4 id from Node's CSPRNG, which pools its
 * entropy: a quarter of the time of the uuid package's v7, which draws fresh bytes per id.
 * Clients may still send any UUID.
 */
export function newEventId(atMs: number = Date.now()): string {
  const ms = Math.trunc(atMs);
  if (!(ms >= 0 && ms < MAX_MS)) throw new RangeError(`no UUIDv7 time for ${atMs} ms`);
  const time = ms.toString(16).padStart(12, '0');
  // randomUUID(): xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, V the variant; keep from the version on.
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randomUUID().slice(15)}`;
}
