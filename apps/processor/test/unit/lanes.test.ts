import assert from 'node:assert/strict';
import { createLaneAssignment } from '../../src/ingest/lanes.ts';

describe('lane assignment', () => {
  it('when a partition has no batches held, then it goes to the least loaded lane, the first of equals', () => {
    const lanes = createLaneAssignment(3);
    assert.equal(lanes.assign('p0', [0, 0, 0]), 0);
    assert.equal(lanes.assign('p1', [5, 0, 0]), 1);
    assert.equal(lanes.assign('p2', [5, 7, 3]), 2);
  });

  it('when a partition still holds batches in its lane, then its next batches go there, however busy that lane is', () => {
    const lanes = createLaneAssignment(2);
    assert.equal(lanes.assign('p0', [0, 0]), 0);
    assert.equal(lanes.assign('p0', [100, 0]), 0);
    lanes.release('p0', 1);
    assert.equal(lanes.assign('p0', [100, 0]), 0, 'one batch is still held');
    lanes.release('p0', 2);
    assert.equal(lanes.laneOf('p0'), undefined);
    assert.equal(lanes.assign('p0', [100, 0]), 1, 'free again: the least loaded lane');
  });

  it('when there is one lane, then every partition goes to it', () => {
    const lanes = createLaneAssignment(1);
    assert.equal(lanes.assign('p0', [10]), 0);
    assert.equal(lanes.assign('p1', [0]), 0);
  });

  it('when fewer lanes are opened, then free partitions go to those only, and a held partition keeps its lane until it is free', () => {
    const lanes = createLaneAssignment(3);
    assert.equal(lanes.assign('p2', [5, 5, 0]), 2);
    lanes.openLanes(1);
    assert.equal(lanes.open(), 1);
    assert.equal(lanes.assign('p0', [9, 0, 0]), 0, 'lane 1 is idle but closed');
    assert.equal(lanes.assign('p2', [9, 0, 0]), 2, 'still held by lane 2');
    lanes.release('p2', 2);
    assert.equal(lanes.assign('p2', [9, 0, 0]), 0);
    lanes.openLanes(7);
    assert.equal(lanes.open(), 3, 'never more than it has');
    assert.equal(lanes.assign('p1', [9, 4, 0]), 2);
    assert.throws(() => {
      lanes.openLanes(0);
    }, RangeError);
  });

  it('when asked for no lanes, then it refuses', () => {
    assert.throws(() => createLaneAssignment(0), RangeError);
  });
});
