import type { Sql, Tx } from '@telemetrypulse/shared';

/**
 * Registers queries whose outcome is checked together with COMMIT's: sent without waiting, so
 * that COMMIT follows them in the same round trip.
 */
export type AlongWithCommit = (query: Promise<unknown>) => void;

/**
 * Runs `work` in a transaction whose BEGIN and COMMIT travel with the queries next to them
 * instead of each waiting a round trip of its own (postgres.js's `begin` waits for BEGIN's
 * answer before it sends anything else). While the replica's event loop is busy decoding a
 * fetch, every round trip waits for it: a transaction that has not sent its statement keeps its
 * lane idle, and one that has not sent COMMIT keeps its window and alert rows locked.
 *
 * A query given to `alongWithCommit` that fails aborts the transaction, so COMMIT then ends it
 * as a rollback (which PostgreSQL reports as success): its own error is what is thrown.
 */
export async function pipelinedTransaction<T>(
  sql: Sql,
  work: (tx: Tx, alongWithCommit: AlongWithCommit) => Promise<T>,
): Promise<T> {
  const tx = await sql.reserve();
  const withCommit: Promise<unknown>[] = [];
  let commitSent = false;
  try {
    // postgres.js sends a query once it is awaited or executed, in that order: BEGIN first.
    const begun = tx`begin`.execute();
    const [, result] = await Promise.all([
      begun,
      work(tx, (query) => {
        // Its failure is thrown below, once COMMIT's answer is in: until then it is handled.
        query.catch(() => undefined);
        withCommit.push(query);
      }),
    ]);
    commitSent = true;
    await Promise.all([...withCommit, tx`commit`]);
    return result;
  } catch (error) {
    // Settles what was sent, so that nothing is left to reject unheard.
    await Promise.allSettled(withCommit);
    // A COMMIT that was sent has ended the transaction either way; otherwise it is rolled back
    // (if the connection is gone, so is the transaction).
    if (!commitSent) await tx`rollback`.catch(() => undefined);
    throw error;
  } finally {
    tx.release();
  }
}
