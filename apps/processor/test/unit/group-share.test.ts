import assert from 'node:assert/strict';
import { transactionShare } from '../../src/ingest/group-share.ts';

describe("a replica's share of the group's store transactions", () => {
  it('when the replica is alone, then it keeps the whole budget', () => {
    assert.equal(transactionShare(2, 1), 2);
    assert.equal(transactionShare(4, 1), 4);
  });

  it('when the group has more members, then the budget is divided among them, rounded', () => {
    assert.equal(transactionShare(2, 2), 1);
    assert.equal(transactionShare(4, 2), 2);
    assert.equal(transactionShare(8, 3), 3);
  });

  it('when there are more members than transactions, then each replica still keeps one', () => {
    assert.equal(transactionShare(2, 3), 1);
    assert.equal(transactionShare(1, 10), 1);
    assert.equal(transactionShare(2, 0), 2, 'an empty answer counts as alone');
  });
});
