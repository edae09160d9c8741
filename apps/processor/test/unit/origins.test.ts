import assert from 'node:assert/strict';
import type { IncomingMessage } from '../../src/ingest/batch.ts';
import { copyOrigins } from '../../src/ingest/origins.ts';

describe('copyOrigins', () => {
  it('when messages are kept, then each comes back with its offset, key and value, null ones too', () => {
    const messages: IncomingMessage[] = [
      { offset: '7', key: Buffer.from('device-1'), value: Buffer.from('{"a":1}') },
      { offset: '8', key: null, value: Buffer.from('{"b":22}') },
      { offset: '9', key: Buffer.from('k'), value: null },
      { offset: '12', key: Buffer.alloc(0), value: Buffer.alloc(0) },
    ];

    const origins = copyOrigins(messages);

    assert.equal(origins.length, 4);
    assert.deepEqual(
      messages.map((_, i) => origins.at(i)),
      messages,
    );
  });

  it('when the fetch response they came from is reused, then the kept messages do not change', () => {
    // kafkajs hands out views into one response buffer: the copies must not be such views.
    const response = Buffer.from('key-1{"v":1}key-2{"v":2}');
    const messages: IncomingMessage[] = [
      { offset: '0', key: response.subarray(0, 5), value: response.subarray(5, 12) },
      { offset: '1', key: response.subarray(12, 17), value: response.subarray(17, 24) },
    ];

    const origins = copyOrigins(messages);
    response.fill(0);

    assert.equal(origins.at(0).key?.toString(), 'key-1');
    assert.equal(origins.at(0).value?.toString(), '{"v":1}');
    assert.equal(origins.at(1).key?.toString(), 'key-2');
    assert.equal(origins.at(1).value?.toString(), '{"v":2}');
    assert.notEqual(origins.at(1).value?.buffer, response.buffer);
  });

  it('when asked for a message it does not hold, then it says so', () => {
    const origins = copyOrigins([{ offset: '0', value: Buffer.from('x') }]);

    assert.throws(() => origins.at(1), RangeError);
    assert.throws(() => origins.at(-1), RangeError);
  });
});
