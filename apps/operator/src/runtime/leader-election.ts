// Leader election on the Lease (lease.ts): campaign every retrySeconds, lead while the Lease is
// ours, and stop leading once it could not be renewed within the renew deadline.
import type { Logger } from '@telemetrypulse/shared';
import { kubeError, statusCode } from './kube.ts';
import { LeaseLock, type LeaseLockOptions } from './lease.ts';

export interface LeaderElectionOptions extends LeaseLockOptions {
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

/** Campaigns until stopped; calls onStartedLeading / onStoppedLeading as leadership changes. */
export function startLeaderElection(options: LeaderElectionOptions): LeaderElector {
  const { identity, logger } = options;
  const lock = new LeaseLock(options);
  let leader = false;
  let stopped = false;
  let lastRenewMs = 0;
  let timer: NodeJS.Timeout | undefined;
  let transition: Promise<void> = Promise.resolve();
  let wake: (() => void) | undefined;

  function setLeader(value: boolean): void {
    if (leader === value) return;
    leader = value;
    logger.info({ identity, lease: lock.description }, value ? 'leading' : 'not leading');
    const callback = value ? options.onStartedLeading : options.onStoppedLeading;
    transition = transition.then(callback).catch((error: unknown) => {
      logger.error({ err: error }, 'leadership change failed');
    });
  }

  async function attempt(): Promise<void> {
    try {
      if (await lock.tryAcquireOrRenew()) {
        lastRenewMs = Date.now();
        setLeader(true);
      } else {
        setLeader(false);
      }
    } catch (error) {
      if (statusCode(error) !== 409) logger.warn({ err: kubeError(error) }, 'lease update failed');
      if (leader && Date.now() - lastRenewMs > options.renewDeadlineSeconds * 1000) {
        logger.error('could not renew the lease in time');
        setLeader(false);
      }
    }
  }

  /** Waits retrySeconds, or less when stop() wakes it. */
  function pause(): Promise<void> {
    return new Promise<void>((resolve) => {
      // stop() may have come while the attempt ran.
      if (stopped) {
        resolve();
        return;
      }
      wake = resolve;
      timer = setTimeout(resolve, options.retrySeconds * 1000);
    });
  }

  async function campaign(): Promise<void> {
    while (!stopped) {
      await attempt();
      await pause();
    }
  }

  const running = campaign();

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
      try {
        if (await lock.release()) logger.info({ lease: lock.description }, 'lease released');
      } catch (error) {
        logger.warn({ err: kubeError(error) }, 'could not release the lease');
      }
    },
  };
}
