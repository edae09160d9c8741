// Leader election on the Lease (lease.ts): campaign every retrySeconds, lead while the Lease is
// ours, and stop leading once it could not be renewed within the renew deadline. Every Lease
// request has a deadline (half the renew deadline, as kube-controller-manager gives its
// leader-election client), and a leader's requests are also cut off at its renew deadline, so a
// hung API server cannot keep a leader leading past it, nor past the Lease's duration, after which
// another replica may take over. A leader that lost the Lease does not campaign again: it reports
// the loss (onLostLeadership), and the operator exits so its restart rejoins with fresh state, as
// client-go's leaderelection users do on OnStoppedLeading.
import type { Logger } from '@telemetrypulse/shared';
import { kubeError, statusCode } from './kube.ts';
import { LeaseLock, LeaseRequestAborted, type LeaseLockOptions } from './lease.ts';

export interface LeaderElectionOptions extends Omit<LeaseLockOptions, 'requestTimeoutMs'> {
  /** A leader that could not renew for this long stops leading (before others may take over). */
  renewDeadlineSeconds: number;
  retrySeconds: number;
  logger: Logger;
  onStartedLeading: () => Promise<void>;
  onStoppedLeading: () => Promise<void>;
  /** Called once, as onStoppedLeading starts, when leadership was lost rather than given up. */
  onLostLeadership?: () => void;
}

export interface LeaderElector {
  isLeader(): boolean;
  /** Stops campaigning; a leader stops leading and clears the Lease so others take over at once. */
  stop(): Promise<void>;
}

/** Campaigns until stopped; calls onStartedLeading / onStoppedLeading as leadership changes. */
export function startLeaderElection(options: LeaderElectionOptions): LeaderElector {
  const { identity, logger } = options;
  const renewDeadlineMs = options.renewDeadlineSeconds * 1000;
  const lock = new LeaseLock({ ...options, requestTimeoutMs: renewDeadlineMs / 2 });
  let leader = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let transition: Promise<void> = Promise.resolve();
  let wake: (() => void) | undefined;
  // The attempt in flight: the renew deadline or stop() cuts its requests short.
  let attemptAbort: AbortController | undefined;

  function setLeader(value: boolean): void {
    if (leader === value) return;
    leader = value;
    logger.info({ identity, lease: lock.description }, value ? 'leading' : 'not leading');
    const callback = value ? options.onStartedLeading : options.onStoppedLeading;
    transition = transition.then(callback).catch((error: unknown) => {
      logger.error({ err: error }, 'leadership change failed');
    });
  }

  /** Leadership is gone (not renewed in time, or taken): stop leading now, whatever is in flight. */
  function lose(why: string): void {
    if (!leader || stopped) return;
    logger.error(
      { identity, lease: lock.description, renewDeadlineSeconds: options.renewDeadlineSeconds },
      `${why}; stopping leading`,
    );
    stopped = true;
    attemptAbort?.abort();
    clearTimeout(timer);
    wake?.();
    setLeader(false);
    // At once, not after onStoppedLeading: stopping the controller may wait on the same API server.
    options.onLostLeadership?.();
  }

  function renewed(): void {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      lose('could not renew the lease within the renew deadline');
    }, renewDeadlineMs);
    setLeader(true);
  }

  async function attempt(): Promise<void> {
    attemptAbort = new AbortController();
    try {
      if (await lock.tryAcquireOrRenew(attemptAbort.signal)) {
        if (!stopped) renewed();
      } else if (leader) {
        lose('another candidate holds the lease');
      }
    } catch (error) {
      if (error instanceof LeaseRequestAborted) {
        logger.warn({ call: error.call, by: error.by, err: error }, 'lease request aborted');
      } else if (statusCode(error) !== 409) {
        logger.warn({ err: kubeError(error) }, 'lease update failed');
      }
    } finally {
      attemptAbort = undefined;
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
      clearTimeout(watchdog);
      attemptAbort?.abort();
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
