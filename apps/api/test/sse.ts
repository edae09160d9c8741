export interface SseEvent {
  event: string;
  data: string;
  /** The last event id when this event was dispatched. */
  id: string | undefined;
}

/** A minimal Server-Sent Events reader over fetch, for tests: events and comment lines. */
export class SseReader {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  /** As EventSource keeps it: an id field sets it, also in a block without data. */
  lastEventId: string | undefined;
  ended = false;
  private readonly waiters: (() => void)[] = [];
  private readonly controller = new AbortController();
  response: Response | undefined;

  async open(url: string, headers: Record<string, string> = {}): Promise<Response> {
    const response = await fetch(url, { headers, signal: this.controller.signal });
    this.response = response;
    if (response.body) void this.pump(response.body);
    return response;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          this.parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // aborted by close()
    }
    this.ended = true;
    this.notify();
  }

  private parse(block: string): void {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
      else if (line.startsWith('id: ')) this.lastEventId = line.slice(4);
    }
    if (data.length > 0) this.events.push({ event, data: data.join('\n'), id: this.lastEventId });
    this.notify();
  }

  private notify(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Resolves once `check` holds, re-checked on every block received; fails if the stream ends. */
  async until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (this.ended) throw new Error(`the stream ended before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.controller.abort();
  }
}
