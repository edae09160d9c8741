import assert from 'node:assert/strict';
import { formatCursor, LivePosition, parseCursor } from '../../src/live/position.ts';

describe('live stream cursor', () => {
  it('when nothing has arrived yet, then there is no cursor', () => {
    assert.equal(new LivePosition().current(), undefined);
  });

  it('when a notification arrives, then the cursor is its snapshot xmin', () => {
    const position = new LivePosition();
    position.received(100n, 1);
    position.received(90n, 2);
    // The latest horizon counts, even when lower: it is what that arrival proves.
    assert.deepEqual(position.current(), { xid: 90n, at: 2 });
  });

  it('when a change is still being read, then the cursor stays at its writer until it is sent', () => {
    const position = new LivePosition();
    position.hold('a', 95n, 5);
    position.hold('a', 97n, 6);
    position.received(120n, 7);
    assert.deepEqual(position.current(), { xid: 95n, at: 5 });
    position.release('a');
    assert.deepEqual(position.current(), { xid: 120n, at: 7 });
  });

  it('when the notifications were cut, then reset forgets everything', () => {
    const position = new LivePosition();
    position.received(100n, 1);
    position.hold('a', 50n, 1);
    position.reset();
    assert.equal(position.current(), undefined);
  });

  it('when a cursor is formatted, then parsing gives it back; anything else is undefined', () => {
    const cursor = { xid: 4_294_967_396n, at: 1_700_000_000_000 };
    assert.deepEqual(parseCursor(formatCursor(cursor)), cursor);
    for (const text of [undefined, '', 'abc', '12', '-1-2', '1-2-3', '1.5-2']) {
      assert.equal(parseCursor(text), undefined, String(text));
    }
  });
});
