/**
 * Where a live stream stands, as a resume cursor: a transaction id such that every change a
 * client has not been sent yet was written by a transaction with an id at or above it. A client
 * that reconnects with it (Last-Event-ID) is sent, from the database, every row whose writer is
 * at or above it: some it has seen again (harmless: events carry whole rows), none missed.
 *
 * Why that holds: a transaction that commits after a transaction T was either running when T
 * took its snapshot, or had no id yet; either way its id is at least the xmin of T's snapshot.
 * Notifications arrive in commit order, each carrying its writer's id and snapshot xmin; so
 * once a notification (or a marker the hub sends itself) has arrived, every change not yet
 * received has an id at or above that xmin (the horizon). Changes received but not yet sent
 * (their rows are being read) are held with their writer's id. The cursor is the lowest of all.
 */
export interface Cursor {
  /** A transaction id (xid8). */
  xid: bigint;
  /** When the hub learned it (epoch ms): how old a resume request is. */
  at: number;
}

export function formatCursor({ xid, at }: Cursor): string {
  return `${xid}-${at}`;
}

/** Undefined for anything formatCursor did not make. */
export function parseCursor(text: string | undefined): Cursor | undefined {
  const match = /^(\d{1,20})-(\d{1,15})$/.exec(text ?? '');
  if (!match?.[1] || !match[2]) return undefined;
  return { xid: BigInt(match[1]), at: Number(match[2]) };
}

export class LivePosition {
  private horizon: Cursor | undefined;
  private readonly held = new Map<string, Cursor>();

  /** A notification or marker arrived; `xmin` is its snapshot's xmin. */
  received(xmin: bigint, at: number): void {
    this.horizon = { xid: xmin, at };
  }

  /** A change with this writer id is being read for the streams; keeps the lower id per key. */
  hold(key: string, xid: bigint, at: number): void {
    const current = this.held.get(key);
    if (!current || xid < current.xid) this.held.set(key, { xid, at });
  }

  /** The change held under `key` was sent (or given up). */
  release(key: string): void {
    this.held.delete(key);
  }

  /** Nothing is known (no marker since the start, or since the notifications were cut). */
  reset(): void {
    this.horizon = undefined;
    this.held.clear();
  }

  current(): Cursor | undefined {
    let lowest = this.horizon;
    if (!lowest) return undefined;
    for (const cursor of this.held.values()) {
      if (cursor.xid < lowest.xid) lowest = cursor;
    }
    return lowest;
  }
}
