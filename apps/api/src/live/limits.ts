import { createHash } from 'node:crypto';
import { Counter, Registry } from 'prom-client';
import { schemaDefault } from '@telemetrypulse/shared';
import { ApiConfigSchema } from '../config.ts';
import { PROBLEM_TYPES, type Problem } from '../http/problem.ts';

/** Why the server ended a stream: the client resumes from its cursor in every case. */
export type DropReason = 'slow_client' | 'resync' | 'shutdown';

export interface StreamLimitOptions {
  /** Streams one client may hold at once; default LIVE_MAX_STREAMS_PER_CLIENT's. */
  maxStreamsPerClient?: number;
  /** Unread bytes after which a stream is ended; default LIVE_MAX_UNSENT_BYTES's. */
  maxUnsentBytes?: number;
  /** API keys (read and write): a request with one of them is counted by its key, not its IP. */
  knownKeys?: readonly string[];
  /** Gets the dropped and refused counters; default: a registry of their own (tests). */
  registry?: Registry;
}

/** Who opens a stream: its address, and the API key it sent, if any. */
export interface StreamRequester {
  ip: string;
  credential: string | undefined;
}

export type Admission =
  | { admitted: true; release(): void }
  | { admitted: false; problem: Problem; retryAfterSeconds: number };

/** Until a place is likely to be free again: streams last minutes, not seconds. */
const FULL_RETRY_AFTER_SECONDS = 30;

const digest = (key: string) => createHash('sha256').update(key).digest('hex');

/**
 * How many live streams each client and the whole process hold, and the bound on what a stream
 * may leave unsent. A client is its API key when it sends a known one (many users behind one
 * proxy or NAT share an address), else its IP: an unknown key must not buy a fresh allowance.
 */
export class StreamLimits {
  readonly maxStreamsPerClient: number;
  readonly maxUnsentBytes: number;
  private readonly keys: Set<string>;
  private readonly perClient = new Map<string, number>();
  private readonly droppedTotal: Counter<'reason'>;
  private readonly refusedTotal: Counter<'reason'>;

  constructor(options: StreamLimitOptions = {}) {
    this.maxStreamsPerClient =
      options.maxStreamsPerClient ?? schemaDefault(ApiConfigSchema, 'LIVE_MAX_STREAMS_PER_CLIENT');
    this.maxUnsentBytes =
      options.maxUnsentBytes ?? schemaDefault(ApiConfigSchema, 'LIVE_MAX_UNSENT_BYTES');
    this.keys = new Set((options.knownKeys ?? []).map(digest));
    const registers = [options.registry ?? new Registry()];
    this.droppedTotal = new Counter({
      name: 'telemetry_api_sse_streams_dropped_total',
      help: 'Live streams the API ended, by reason (slow_client: unsent data passed LIVE_MAX_UNSENT_BYTES)',
      labelNames: ['reason'] as const,
      registers,
    });
    this.refusedTotal = new Counter({
      name: 'telemetry_api_sse_streams_refused_total',
      help: 'Live streams refused, by reason (per_client: 429, total: 503)',
      labelNames: ['reason'] as const,
      registers,
    });
    // Every reason shows from the start, at 0, so rate() and alerts see the series.
    for (const reason of ['slow_client', 'resync', 'shutdown'] satisfies DropReason[])
      this.droppedTotal.inc({ reason }, 0);
    for (const reason of ['per_client', 'total']) this.refusedTotal.inc({ reason }, 0);
  }

  /** The key a requester's streams are counted under. */
  clientOf({ ip, credential }: StreamRequester): string {
    if (credential !== undefined) {
      const key = digest(credential);
      if (this.keys.has(key)) return `key:${key}`;
    }
    return `ip:${ip}`;
  }

  /** Takes a place for one more stream, or says why there is none; `open` is the process's count. */
  admit(requester: StreamRequester, open: number, maxStreams: number): Admission {
    const client = this.clientOf(requester);
    const held = this.perClient.get(client) ?? 0;
    if (held >= this.maxStreamsPerClient) {
      this.refusedTotal.inc({ reason: 'per_client' });
      return {
        admitted: false,
        retryAfterSeconds: FULL_RETRY_AFTER_SECONDS,
        problem: {
          type: PROBLEM_TYPES.tooManyRequests,
          title: 'Too Many Requests',
          status: 429,
          detail: `at most ${this.maxStreamsPerClient} live streams per client are served at once`,
        },
      };
    }
    if (open >= maxStreams) {
      this.refusedTotal.inc({ reason: 'total' });
      return {
        admitted: false,
        retryAfterSeconds: FULL_RETRY_AFTER_SECONDS,
        problem: {
          type: PROBLEM_TYPES.unavailable,
          title: 'Service Unavailable',
          status: 503,
          detail: `at most ${maxStreams} live streams are served at once`,
        },
      };
    }
    this.perClient.set(client, held + 1);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.perClient.get(client) ?? 1) - 1;
        if (left > 0) this.perClient.set(client, left);
        else this.perClient.delete(client);
      },
    };
  }

  dropped(reason: DropReason): void {
    this.droppedTotal.inc({ reason });
  }
}
