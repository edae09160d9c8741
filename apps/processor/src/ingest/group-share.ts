import type { Consumer } from 'kafkajs';
import type { Gauge } from 'prom-client';
import type { Logger } from '@telemetrypulse/shared';

/**
 * A replica's share of the group's store transactions: the budget divided among the group's
 * members, at least one each. The budget is the group's, not each replica's, because every
 * transaction upserts the same rows: events are keyed by device, so every partition carries
 * every zone, and each group of batches updates every zone's current windows and its site's
 * row, waiting for the transaction before it to commit. Two replicas of two transactions each
 * had a row-lock wait in 29–51 % of samples and no more throughput than one transaction each
 * (docs/performance.md, "Scale-out").
 */
export function transactionShare(budget: number, members: number): number {
  return Math.max(1, Math.round(budget / Math.max(1, members)));
}

export interface GroupShareOptions {
  consumer: Consumer;
  /** STORE_TRANSACTIONS_IN_FLIGHT: the group's budget. */
  budget: number;
  /** Applies a share; returns the limit in force (the writer's limitTransactions). */
  limit: (count: number) => number;
  gauge: Gauge;
  logger: Logger;
}

/**
 * After every join of the group (each rebalance), asks the coordinator how many members the
 * group has and limits this replica to its share. Until it knows, and when the question fails,
 * the replica keeps the limit it had: the budget on its own, one share after a rebalance.
 */
export function followGroupShare(options: GroupShareOptions): () => void {
  const { consumer, logger } = options;
  let joins = 0;
  const apply = (count: number) => {
    const limit = options.limit(count);
    options.gauge.set(limit);
    return limit;
  };
  apply(options.budget);
  return consumer.on(consumer.events.GROUP_JOIN, () => {
    const join = ++joins;
    consumer
      .describeGroup()
      .then(({ members }) => {
        // An answer to an earlier join, arriving late, must not undo a later one.
        if (join !== joins || members.length === 0) return;
        const limit = apply(transactionShare(options.budget, members.length));
        logger.info(
          { members: members.length, transactionsInFlight: limit },
          'store transactions shared with the group',
        );
      })
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'could not read the group size; the store limit stays');
      });
  });
}
