// The store's transaction on a real PostgreSQL: BEGIN and COMMIT travel with the queries next to
// them, and a failure anywhere, even in a query sent along with COMMIT, leaves nothing behind.
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '@telemetrypulse/devstack/test';
import { pipelinedTransaction } from '../../src/ingest/pipelined-transaction.ts';

describe('pipelined store transaction (real PostgreSQL)', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    await db.drop();
  });

  const sitesNamed = async (...ids: string[]) =>
    (
      await db.sql<{ site_id: string }[]>`
        select site_id from sites where site_id in ${db.sql(ids)} order by 1`
    ).map((r) => r.site_id);

  it('when the work and a query sent along with COMMIT succeed, then all of them are one transaction and stay', async () => {
    const ids = await pipelinedTransaction(db.sql, async (tx, alongWithCommit) => {
      // Sent at once, without waiting for BEGIN: both must still be inside the transaction.
      const [[first], [second]] = await Promise.all([
        tx<{ id: string }[]>`select txid_current()::text as id`,
        tx<{ id: string }[]>`select txid_current()::text as id`,
        tx`insert into sites (site_id) values ('site-pt-a')`,
      ]);
      alongWithCommit(tx`insert into sites (site_id) values ('site-pt-b')`);
      return [first?.id, second?.id];
    });

    assert.ok(ids[0] !== undefined);
    assert.equal(ids[1], ids[0], 'every query ran in the transaction BEGIN opened');
    assert.deepEqual(await sitesNamed('site-pt-a', 'site-pt-b'), ['site-pt-a', 'site-pt-b']);
  });

  it('when a query sent along with COMMIT fails, then its error is thrown and nothing of the transaction stays', async () => {
    await assert.rejects(
      pipelinedTransaction(db.sql, async (tx, alongWithCommit) => {
        await tx`insert into sites (site_id) values ('site-pt-c')`;
        alongWithCommit(tx`select 1 / (select count(*) from sites where site_id = 'none')`);
      }),
      { code: '22012' },
    );

    assert.deepEqual(await sitesNamed('site-pt-c'), []);
  });

  it('when the work fails, then the transaction is rolled back and its connection serves the next ones', async () => {
    await assert.rejects(
      pipelinedTransaction(db.sql, async (tx) => {
        await tx`insert into sites (site_id) values ('site-pt-d')`;
        throw new Error('the work failed');
      }),
      /the work failed/,
    );

    // More transactions than the pool has connections (5): none was kept reserved.
    for (let i = 0; i < 8; i++) {
      await pipelinedTransaction(
        db.sql,
        (tx) => tx`insert into sites (site_id) values (${`site-pt-${i}`})`,
      );
    }
    assert.deepEqual(await sitesNamed('site-pt-d'), []);
    assert.equal(
      (await sitesNamed(...Array.from({ length: 8 }, (_, i) => `site-pt-${i}`))).length,
      8,
    );
  });
});
