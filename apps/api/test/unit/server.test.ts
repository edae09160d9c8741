import assert from 'node:assert/strict';
import { Agent, request, type IncomingMessage } from 'node:http';
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
    const closed = server.close({ graceMs: 60_000 });
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

    await server.close({ graceMs: 100 });
    await cut;
    // The server ended the connection, not the response: the client saw it cut short.
    assert.equal(stream.complete, false);
  });

  it('when a client keeps an idle connection while the server drains, then its next request is answered and the connection ends with it', async () => {
    const server = await startServer(
      (_req, res) => {
        res.end('ok');
      },
      { host: '127.0.0.1', port: 0 },
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<IncomingMessage & { body: string; socketPort: number | undefined }>(
        (resolve, reject) => {
          const req = request(`http://127.0.0.1:${server.port}/`, { agent }, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => {
              resolve(Object.assign(res, { body, socketPort: req.socket?.localPort }));
            });
          });
          req.on('error', reject);
          req.end();
        },
      );
    try {
      const first = await get();
      assert.equal(first.headers.connection, 'keep-alive');
      // The drain outlasts the test: close resolves only because the client's connection ended.
      const closed = server.close({ graceMs: 60_000, drainMs: 600_000 });
      const last = await get();
      assert.equal(last.body, 'ok');
      assert.equal(last.socketPort, first.socketPort, 'the idle connection was used again');
      assert.equal(last.headers.connection, 'close');
      await closed;
    } finally {
      agent.destroy();
    }
  });

  it('when another response finishes during the drain, then a second idle connection still stays open for its own last request', async () => {
    const server = await startServer(
      (_req, res) => {
        setTimeout(() => res.end('ok'), 20);
      },
      { host: '127.0.0.1', port: 0 },
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const get = () =>
      new Promise<{ connection: string | undefined; port: number | undefined }>(
        (resolve, reject) => {
          const req = request(`http://127.0.0.1:${server.port}/`, { agent }, (res) => {
            res.resume();
            res.on('end', () => {
              resolve({ connection: res.headers.connection, port: req.socket?.localPort });
            });
          });
          req.on('error', reject);
          req.end();
        },
      );
    try {
      // Two kept-alive connections, both idle when the drain starts.
      const before = await Promise.all([get(), get()]);
      const closed = server.close({ graceMs: 60_000, drainMs: 600_000 });
      const first = await get();
      const second = await get();
      assert.deepEqual(
        [first.connection, second.connection],
        ['close', 'close'],
        'each answer ends its connection',
      );
      assert.deepEqual(
        [first.port, second.port].sort(),
        before.map((b) => b.port).sort(),
        'both idle connections were used once more, neither was closed under its client',
      );
      await closed;
    } finally {
      agent.destroy();
    }
  });
});
