// The coordination.k8s.io Lease that leader election runs on, as client-go's leaderelection uses
// it (the JavaScript client has none): acquire or renew with the Lease's resourceVersion, so two
// candidates never both win, and judge expiry by the local time a record was first seen, so
// clock skew between replicas does not matter.
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   client-node's models are classes only for its serializer, which reads plain objects as well. */
import {
  V1MicroTime,
  type CoordinationV1Api,
  type V1Lease,
  type V1LeaseSpec,
} from '@kubernetes/client-node';
import type { ConfigurationOptions } from '@kubernetes/client-node';
import { statusCode, withSignal } from './kube.ts';

export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
}

/** The record's content (not its resourceVersion) and the local time it was first seen so. */
export interface Observed {
  record: LeaseRecord;
  atMs: number;
}

export type LeaseAction = 'renew' | 'acquire' | 'wait';

export interface Candidate {
  identity: string;
  /** The record last read, if any; expiry counts from when it was first seen. */
  observed?: Observed | undefined;
  nowMs: number;
}

/** What a candidate should do with the Lease it just read. Pure. */
export function leaseAction(record: LeaseRecord, candidate: Candidate): LeaseAction {
  const { identity, observed, nowMs } = candidate;
  if (record.holderIdentity === identity) return 'renew';
  if (record.holderIdentity === '') return 'acquire';
  // Someone else holds it: it expires leaseDuration after we first saw this very record.
  const since = observed && sameRecord(observed.record, record) ? observed.atMs : nowMs;
  return nowMs >= since + record.leaseDurationSeconds * 1000 ? 'acquire' : 'wait';
}

export function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.renewTime === b.renewTime &&
    a.acquireTime === b.acquireTime &&
    a.leaseTransitions === b.leaseTransitions &&
    a.leaseDurationSeconds === b.leaseDurationSeconds
  );
}

// The client leaves MicroTime fields as the API's strings; a Date only comes from our own writes.
function timeText(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' ? value : undefined;
}

export function recordOf(lease: V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: timeText(spec.acquireTime),
    renewTime: timeText(spec.renewTime),
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
}

export interface LeaseLockOptions {
  api: CoordinationV1Api;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  /** Every Lease request is aborted after this long (the client itself never gives up). */
  requestTimeoutMs: number;
}

export type LeaseCall = 'read' | 'create' | 'replace';

/** A Lease request the operator aborted: its own deadline passed, or the caller's signal fired. */
export class LeaseRequestAborted extends Error {
  override name = 'LeaseRequestAborted';
  readonly call: LeaseCall;
  /** 'deadline': the request's own timeout; 'signal': the caller gave up (renew deadline, stop). */
  readonly by: 'deadline' | 'signal';

  constructor(call: LeaseCall, by: 'deadline' | 'signal', timeoutMs: number, cause: unknown) {
    super(
      by === 'deadline'
        ? `Lease ${call} aborted: no answer within its ${timeoutMs} ms deadline`
        : `Lease ${call} aborted by its caller`,
      { cause },
    );
    this.call = call;
    this.by = by;
  }
}

/** The Lease as a lock, client-go's resourcelock: one read, then create, take over or renew. */
export class LeaseLock {
  readonly #api: CoordinationV1Api;
  readonly #namespace: string;
  readonly #name: string;
  readonly #identity: string;
  readonly #durationSeconds: number;
  readonly #requestTimeoutMs: number;
  #observed: Observed | undefined;

  constructor(options: LeaseLockOptions) {
    this.#api = options.api;
    this.#namespace = options.namespace;
    this.#name = options.name;
    this.#identity = options.identity;
    this.#durationSeconds = options.leaseDurationSeconds;
    this.#requestTimeoutMs = options.requestTimeoutMs;
  }

  /** namespace/name, for logs. */
  get description(): string {
    return `${this.#namespace}/${this.#name}`;
  }

  /**
   * One attempt to acquire or renew; true when we hold the Lease afterwards. Each request ends by
   * its deadline, or earlier when `signal` aborts.
   */
  async tryAcquireOrRenew(signal?: AbortSignal): Promise<boolean> {
    let lease: V1Lease;
    try {
      lease = await this.#read(signal);
    } catch (error) {
      if (statusCode(error) !== 404) throw error;
      await this.#create(signal);
      return true;
    }
    const record = recordOf(lease);
    const nowMs = Date.now();
    const observed = this.#observed;
    const action = leaseAction(record, { identity: this.#identity, observed, nowMs });
    if (!observed || !sameRecord(observed.record, record)) this.#observed = { record, atMs: nowMs };
    if (action === 'wait') return false;
    const next =
      action === 'renew'
        ? this.#spec(record)
        : this.#spec({
            ...record,
            acquireTime: undefined,
            leaseTransitions: record.leaseTransitions + 1,
          });
    const updated = await this.#replace(lease, next, signal);
    this.#observed = { record: recordOf(updated), atMs: Date.now() };
    return true;
  }

  /**
   * An empty holder lets the next candidate acquire without waiting for expiry. False when the
   * Lease was no longer ours to release.
   */
  async release(): Promise<boolean> {
    const lease = await this.#read();
    if (recordOf(lease).holderIdentity !== this.#identity) return false;
    await this.#replace(lease, {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: lease.spec?.acquireTime,
      renewTime: new V1MicroTime(),
      leaseTransitions: lease.spec?.leaseTransitions,
    });
    return true;
  }

  /** One request, aborted at its deadline or when `signal` fires, whichever comes first. */
  async #call<T>(
    call: LeaseCall,
    signal: AbortSignal | undefined,
    request: (options: ConfigurationOptions) => Promise<T>,
  ): Promise<T> {
    const deadline = AbortSignal.timeout(this.#requestTimeoutMs);
    const either = signal ? AbortSignal.any([deadline, signal]) : deadline;
    try {
      return await request(withSignal(either));
    } catch (error) {
      if (!either.aborted) throw error;
      const by = deadline.aborted ? 'deadline' : 'signal';
      throw new LeaseRequestAborted(call, by, this.#requestTimeoutMs, error);
    }
  }

  #read(signal?: AbortSignal): Promise<V1Lease> {
    return this.#call('read', signal, (options) =>
      this.#api.readNamespacedLease({ name: this.#name, namespace: this.#namespace }, options),
    );
  }

  /** The first candidate creates the Lease, holding it. */
  async #create(signal?: AbortSignal): Promise<void> {
    const body = {
      metadata: { name: this.#name, namespace: this.#namespace },
      spec: this.#spec({
        holderIdentity: this.#identity,
        leaseDurationSeconds: 0,
        leaseTransitions: 0,
      }),
    };
    const created = await this.#call('create', signal, (options) =>
      this.#api.createNamespacedLease({ namespace: this.#namespace, body }, options),
    );
    this.#observed = { record: recordOf(created), atMs: Date.now() };
  }

  /** The Lease as read, with a new spec. */
  #replace(lease: V1Lease, spec: V1LeaseSpec, signal?: AbortSignal): Promise<V1Lease> {
    // replace carries the resourceVersion we read: a concurrent writer makes this fail with 409.
    const body = { apiVersion: lease.apiVersion, kind: lease.kind, metadata: lease.metadata, spec };
    return this.#call('replace', signal, (options) =>
      this.#api.replaceNamespacedLease(
        { name: this.#name, namespace: this.#namespace, body },
        options,
      ),
    );
  }

  #spec(record: LeaseRecord): V1LeaseSpec {
    return {
      holderIdentity: this.#identity,
      leaseDurationSeconds: this.#durationSeconds,
      acquireTime: record.acquireTime ? new V1MicroTime(record.acquireTime) : new V1MicroTime(),
      renewTime: new V1MicroTime(),
      leaseTransitions: record.leaseTransitions,
    };
  }
}
