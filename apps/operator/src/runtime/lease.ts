// Leader election on a coordination.k8s.io Lease, as client-go's leaderelection does it (the
// JavaScript client has none): acquire or renew with the Lease's resourceVersion, so two
// candidates never both win, and judge expiry by the local time a record was first seen, so
// clock skew between replicas does not matter.
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   client-node's models are classes only for its serializer, which reads plain objects as well. */
import {
  ApiException,
  V1MicroTime,
  type CoordinationV1Api,
  type V1Lease,
} from '@kubernetes/client-node';
import type { Logger } from '@telemetrypulse/shared';
import { errorMessage } from './kube.ts';

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

/** What a candidate should do with the Lease it just read. Pure. */
export function leaseAction(
  record: LeaseRecord,
  observed: Observed | undefined,
  identity: string,
  nowMs: number,
): LeaseAction {
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

export interface LeaderElectionOptions {
  api: CoordinationV1Api;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  /** A leader that could not renew for this long stops leading (before others may take over). */
  renewDeadlineSeconds: number;
  retrySeconds: number;
  logger: Logger;
  onStartedLeading: () => Promise<void>;
  onStoppedLeading: () => Promise<void>;
}

export interface LeaderElector {
  isLeader(): boolean;
  /** Stops campaigning; a leader stops leading and clears the Lease so others take over at once. */
  stop(): Promise<void>;
}

function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

/** Campaigns until stopped; calls onStartedLeading / onStoppedLeading as leadership changes. */
export function startLeaderElection(options: LeaderElectionOptions): LeaderElector {
  const { api, namespace, name, identity, logger } = options;
  let leader = false;
  let stopped = false;
  let observed: Observed | undefined;
  let lastRenewMs = 0;
  let timer: NodeJS.Timeout | undefined;
  let transition: Promise<void> = Promise.resolve();
  let wake: (() => void) | undefined;

  const spec = (record: LeaseRecord) => ({
    holderIdentity: identity,
    leaseDurationSeconds: options.leaseDurationSeconds,
    acquireTime: record.acquireTime ? new V1MicroTime(record.acquireTime) : new V1MicroTime(),
    renewTime: new V1MicroTime(),
    leaseTransitions: record.leaseTransitions,
  });

  /** One attempt to acquire or renew; true when we hold the Lease afterwards. */
  async function tryAcquireOrRenew(): Promise<boolean> {
    let lease: V1Lease;
    try {
      lease = await api.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
      const created = await api.createNamespacedLease({
        namespace,
        body: {
          metadata: { name, namespace },
          spec: spec({ holderIdentity: identity, leaseDurationSeconds: 0, leaseTransitions: 0 }),
        },
      });
      observed = { record: recordOf(created), atMs: Date.now() };
      return true;
    }
    const record = recordOf(lease);
    const now = Date.now();
    const action = leaseAction(record, observed, identity, now);
    if (!observed || !sameRecord(observed.record, record)) observed = { record, atMs: now };
    if (action === 'wait') return false;
    const next =
      action === 'renew'
        ? spec(record)
        : spec({
            ...record,
            acquireTime: undefined,
            leaseTransitions: record.leaseTransitions + 1,
          });
    // replace carries the resourceVersion we read: a concurrent writer makes this fail with 409.
    const updated = await api.replaceNamespacedLease({
      name,
      namespace,
      body: {
        apiVersion: lease.apiVersion,
        kind: lease.kind,
        metadata: lease.metadata,
        spec: next,
      },
    });
    observed = { record: recordOf(updated), atMs: Date.now() };
    return true;
  }

  function setLeader(value: boolean): void {
    if (leader === value) return;
    leader = value;
    logger.info({ identity, lease: `${namespace}/${name}` }, value ? 'leading' : 'not leading');
    const callback = value ? options.onStartedLeading : options.onStoppedLeading;
    transition = transition.then(callback).catch((error: unknown) => {
      logger.error({ err: error }, 'leadership change failed');
    });
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      try {
        if (await tryAcquireOrRenew()) {
          lastRenewMs = Date.now();
          setLeader(true);
        } else {
          setLeader(false);
        }
      } catch (error) {
        if (!isStatus(error, 409))
          logger.warn({ error: errorMessage(error) }, 'lease update failed');
        if (leader && Date.now() - lastRenewMs > options.renewDeadlineSeconds * 1000) {
          logger.error('could not renew the lease in time');
          setLeader(false);
        }
      }
      await new Promise<void>((resolve) => {
        // stop() may have come while the attempt ran.
        if (stopped) {
          resolve();
          return;
        }
        wake = resolve;
        timer = setTimeout(resolve, options.retrySeconds * 1000);
      });
    }
  }

  const running = loop();

  return {
    isLeader: () => leader,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await running;
      const wasLeader = leader;
      setLeader(false);
      await transition;
      if (!wasLeader) return;
      // Release: an empty holder lets the next candidate acquire without waiting for expiry.
      try {
        const lease = await api.readNamespacedLease({ name, namespace });
        if (recordOf(lease).holderIdentity !== identity) return;
        await api.replaceNamespacedLease({
          name,
          namespace,
          body: {
            apiVersion: lease.apiVersion,
            kind: lease.kind,
            metadata: lease.metadata,
            spec: {
              holderIdentity: '',
              leaseDurationSeconds: 1,
              acquireTime: lease.spec?.acquireTime,
              renewTime: new V1MicroTime(),
              leaseTransitions: lease.spec?.leaseTransitions,
            },
          },
        });
        logger.info({ lease: `${namespace}/${name}` }, 'lease released');
      } catch (error) {
        logger.warn({ error: errorMessage(error) }, 'could not release the lease');
      }
    },
  };
}
