import type { ServerResponse } from 'node:http';

/**
 * The writing side of one live stream, with a bound on what it holds for its client. A client
 * that stops reading leaves every message in the process's memory (the socket takes what the
 * kernel buffers, then `res` queues the rest): past `maxUnsentBytes` the stream calls
 * `overflow`, which ends it, and the client resumes from its cursor. While a replay is being
 * sent, live messages are held back (so no cursor runs ahead of what the client has); held past
 * the bound they are dropped instead, and the replay reads again from its snapshot (a client
 * that reads is not ended for what the server held).
 */
export class SseStream {
  private held: string[] | undefined;
  private heldBytes = 0;
  /** Held messages were dropped: a replay from the last one's snapshot must cover them. */
  private behind = false;
  private overflowed = false;

  private readonly res: ServerResponse;
  private readonly maxUnsentBytes: number;
  private readonly overflow: () => void;

  constructor(res: ServerResponse, maxUnsentBytes: number, overflow: () => void) {
    this.res = res;
    this.maxUnsentBytes = maxUnsentBytes;
    this.overflow = overflow;
  }

  /** Bytes written or held that the client has not taken yet (beyond the kernel's buffers). */
  unsent(): number {
    return this.res.writableLength + this.heldBytes;
  }

  /** Whether live messages are being held back for a replay. */
  holding(): boolean {
    return this.held !== undefined;
  }

  /** Holds live messages until `release`. */
  hold(): void {
    this.held ??= [];
  }

  /**
   * Whether held messages were dropped since the replay began; if so, starts holding afresh.
   * Called before the next replay pass, whose snapshot includes every change held till now.
   */
  restartIfBehind(): boolean {
    if (!this.behind) return false;
    this.behind = false;
    this.held = [];
    this.heldBytes = 0;
    return true;
  }

  /** Sends what was held, then sends live messages as they come. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.heldBytes = 0;
    this.behind = false;
    if (this.ended()) return;
    for (const text of held) this.res.write(text);
    this.check();
  }

  /** A live message: sent, or held during a replay; either way bounded. */
  send(text: string): void {
    if (this.ended()) return;
    if (this.held) {
      this.held.push(text);
      this.heldBytes += Buffer.byteLength(text);
      if (this.unsent() > this.maxUnsentBytes) {
        this.held = [];
        this.heldBytes = 0;
        this.behind = true;
      }
    } else {
      this.res.write(text);
    }
    this.check();
  }

  /**
   * A replayed message: waits while the client's buffer is full, so a long replay is sent at
   * the client's pace instead of piling up here. Resolves at once when the stream has ended.
   */
  async write(text: string): Promise<void> {
    if (this.ended()) return;
    if (this.res.write(text)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.once('drain', done);
      this.res.once('close', done);
    });
  }

  private ended(): boolean {
    return this.overflowed || this.res.writableEnded || this.res.destroyed;
  }

  private check(): void {
    if (this.unsent() <= this.maxUnsentBytes) return;
    this.overflowed = true;
    this.held = undefined;
    this.heldBytes = 0;
    this.overflow();
  }
}
