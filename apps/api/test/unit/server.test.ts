import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { startServer } from '../../src/server.ts';

/** A promise with its resolve, for "the server got the request" signals. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

// Each test closes the server only once the request is being served: a connection whose
// request the server has not read yet counts as idle, and close() drops it at once.
describe('server shutdown', () => {
  it('when a response is in flight, then close waits for it to finish', async () => {
    const received = signal();
    const finish = signal();
    const server = await startServer(
      (_req, res) => {
        received.resolve();
        void finish.promise.then(() => res.end('done'));
      },
      { host: '127.0.0.1', port: 0 },
    );
    const response = fetch(`http://127.0.0.1:${server.port}/`).then((r) => r.text());
    await received.promise;
    const closed = server.close(60_000);
    finish.resolve();
    await closed;
    assert.equal(await response, 'done');
  });

  it('when a stream never ends, then close cuts it after the grace period', async () => {
    const server = await startServer(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(': open\n\n');
      },
      { host: '127.0.0.1', port: 0 },
    );
    // Resolves with the response once its first chunk arrived: the stream is open.
    const opened = new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`http://127.0.0.1:${server.port}/`, (res) => {
        res.once('data', () => {
          resolve(res);
        });
      });
      req.on('error', reject);
      req.end();
    });
    const stream = await opened;
    const cut = new Promise<void>((resolve) => stream.once('close', resolve));
    stream.resume();

    await server.close(100);
    await cut;
    // The server ended the connection, not the response: the client saw it cut short.
    assert.equal(stream.complete, false);
  });
});
