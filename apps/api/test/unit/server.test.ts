import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startServer } from '../../src/server.ts';

describe('server shutdown', () => {
  it('when a response is in flight, then close waits for it to finish', async () => {
    const server = await startServer(
      (_req, res) => {
        setTimeout(() => res.end('done'), 100);
      },
      { host: '127.0.0.1', port: 0 },
    );
    const response = fetch(`http://127.0.0.1:${server.port}/`).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 20));
    await server.close(5000);
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
    const ended = new Promise<void>((resolve) => {
      request(`http://127.0.0.1:${server.port}/`, (res) => {
        res.resume();
        res.on('close', resolve);
      }).end();
    });
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await server.close(100);
    await ended;
    assert.ok(Date.now() - started < 2000);
  });
});
