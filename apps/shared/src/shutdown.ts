import type { Logger } from './log.ts';
import { StartupAborted } from './wait.ts';

const flushers: (() => Promise<void>)[] = [];
let shuttingDown = false;

/**
 * True from the first SIGTERM or SIGINT on: readiness then answers 503, so Services and the
 * Ingress stop sending while in-flight work finishes.
 */
export function isShuttingDown(): boolean {
  return shuttingDown;
}

/** Work that must finish after `stop` and before the exit, e.g. exporting buffered spans. */
export function flushBeforeExit(flush: () => Promise<void>): void {
  flushers.push(flush);
}

async function runFlushers(logger: Logger): Promise<void> {
  for (const flush of flushers) {
    await flush().catch((error: unknown) => {
      logger.warn({ err: error }, 'flush before exit failed');
    });
  }
}

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits: 0 when it finished, 1 when it failed or
 * outlived `timeoutMs` (Kubernetes would kill the pod soon after anyway).
 */
export function onShutdown(logger: Logger, timeoutMs: number, stop: () => Promise<void>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown timed out');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    stop().then(
      async () => {
        await runFlushers(logger);
        logger.info('stopped');
        process.exit(0);
      },
      async (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        await runFlushers(logger);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', handle);
  process.once('SIGINT', handle);
}

/**
 * Logs a startup failure clearly and exits non-zero; used by every main(). A startup stopped by
 * SIGTERM (StartupAborted, e.g. while waiting for the database) is no failure: the shutdown
 * handler that aborted it exits.
 */
export function exitOnStartupFailure(logger: Logger) {
  return (error: unknown): void => {
    if (error instanceof StartupAborted) return;
    logger.fatal({ err: error }, error instanceof Error ? error.message : 'startup failed');
    process.exit(1);
  };
}
