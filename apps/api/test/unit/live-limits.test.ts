import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import { StreamLimits } from '../../src/live/limits.ts';
import { SseStream } from '../../src/live/sse-stream.ts';
import { withStatementTimeout } from '../../src/queries/statement-timeout.ts';

const KEY = 'known-key-0123456789';

describe('live stream limits', () => {
  const limits = () => new StreamLimits({ maxStreamsPerClient: 2, knownKeys: [KEY] });
  const from = (ip: string, credential?: string) => ({ ip, credential });

  it('when a client holds its cap, then the next stream is a 429 with Retry-After, and a closed one frees a place', () => {
    const streams = limits();
    const first = streams.admit(from('10.0.0.1'), 0, 100);
    assert.ok(first.admitted);
    assert.ok(streams.admit(from('10.0.0.1'), 1, 100).admitted);
    const refused = streams.admit(from('10.0.0.1'), 2, 100);
    assert.ok(!refused.admitted);
    assert.equal(refused.problem.status, 429);
    assert.ok(refused.retryAfterSeconds > 0);
    assert.ok(streams.admit(from('10.0.0.2'), 2, 100).admitted);
    first.release();
    first.release();
    assert.ok(streams.admit(from('10.0.0.1'), 2, 100).admitted);
    assert.ok(!streams.admit(from('10.0.0.1'), 3, 100).admitted);
  });

  it('when the process serves its total, then a new client is a 503', () => {
    const refused = limits().admit(from('10.0.0.1'), 5, 5);
    assert.ok(!refused.admitted);
    assert.equal(refused.problem.status, 503);
  });

  it('when a known API key is sent, then the client is the key; an unknown key counts as the IP', () => {
    const streams = limits();
    assert.equal(streams.clientOf(from('10.0.0.1', 'made-up')), 'ip:10.0.0.1');
    const viaA = streams.clientOf(from('10.0.0.1', KEY));
    assert.match(viaA, /^key:/);
    assert.equal(streams.clientOf(from('10.0.0.9', KEY)), viaA);
    assert.ok(!viaA.includes(KEY));
  });

  it('when streams are dropped or refused, then the counters say why', async () => {
    const registry = new Registry();
    const streams = new StreamLimits({ maxStreamsPerClient: 1, registry });
    streams.dropped('slow_client');
    streams.admit(from('10.0.0.1'), 0, 10);
    streams.admit(from('10.0.0.1'), 1, 10);
    const text = await registry.metrics();
    assert.match(text, /telemetry_api_sse_streams_dropped_total\{reason="slow_client"\} 1/);
    assert.match(text, /telemetry_api_sse_streams_dropped_total\{reason="resync"\} 0/);
    assert.match(text, /telemetry_api_sse_streams_refused_total\{reason="per_client"\} 1/);
  });
});

/** A response whose client reads nothing: everything written stays in writableLength. */
class StalledResponse extends EventEmitter {
  writableLength = 0;
  writableEnded = false;
  destroyed = false;
  readonly written: string[] = [];
  write(text: string): boolean {
    this.written.push(text);
    this.writableLength += Buffer.byteLength(text);
    return false;
  }
}

describe('SSE stream bound', () => {
  const stalled = () => {
    const res = new StalledResponse();
    let overflows = 0;
    const stream = new SseStream(res as unknown as ServerResponse, 100, () => {
      overflows += 1;
      res.destroyed = true;
    });
    return { res, stream, overflows: () => overflows };
  };

  it('when unsent data passes the bound, then the stream overflows once and takes no more', () => {
    const { res, stream, overflows } = stalled();
    stream.send('x'.repeat(60));
    assert.equal(overflows(), 0);
    stream.send('x'.repeat(60));
    assert.equal(overflows(), 1);
    stream.send('x'.repeat(60));
    assert.equal(overflows(), 1);
    assert.equal(res.written.length, 2);
  });

  it('when live messages held for a replay pass the bound, then they are dropped and the replay is asked to read again, not the client ended', () => {
    const { res, stream, overflows } = stalled();
    stream.hold();
    stream.send('a'.repeat(60));
    assert.equal(res.written.length, 0);
    assert.equal(stream.restartIfBehind(), false);
    stream.send('b'.repeat(60));
    assert.equal(overflows(), 0);
    assert.equal(stream.restartIfBehind(), true);
    assert.equal(stream.restartIfBehind(), false);
    // After the next pass, what was held since follows it.
    stream.send('after-restart');
    stream.release();
    assert.deepEqual(res.written, ['after-restart']);
    assert.equal(overflows(), 0);
  });

  it('when a client does not take what a replay wrote, then the next live message ends the stream', () => {
    const { stream, overflows } = stalled();
    stream.hold();
    void stream.write('r'.repeat(150));
    assert.equal(overflows(), 0);
    stream.send('live');
    assert.equal(overflows(), 1);
  });

  it('when a replay ends, then the held messages follow it in order', () => {
    const { res, stream } = stalled();
    stream.hold();
    stream.send('live-1');
    stream.send('live-2');
    void stream.write('replayed');
    res.emit('drain');
    stream.release();
    assert.deepEqual(res.written, ['replayed', 'live-1', 'live-2']);
  });
});

describe('statement timeout URL', () => {
  it('when a timeout is set, then the URL carries it as a connection parameter', () => {
    const url = withStatementTimeout('postgres://u:p@db:5432/telemetry?sslmode=require', 5000);
    const parsed = new URL(url);
    assert.equal(parsed.searchParams.get('statement_timeout'), '5000');
    assert.equal(parsed.searchParams.get('sslmode'), 'require');
    assert.equal(parsed.password, 'p');
  });

  it('when it is 0 or the URL does not parse, then the URL is left as it is', () => {
    assert.equal(withStatementTimeout('postgres://db/x', 0), 'postgres://db/x');
    assert.equal(withStatementTimeout('not a url', 5000), 'not a url');
  });
});
