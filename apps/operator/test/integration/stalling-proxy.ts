// A TCP proxy in front of the testbed's API server that a test can stall: from stall() on, bytes
// are held in both directions and new connections get no answer, so requests hang as they do
// behind a dead network path instead of failing fast with a refused connection.
import { connect, createServer, type Socket } from 'node:net';

export interface StallingProxy {
  port: number;
  stall(): void;
  close(): Promise<void>;
}

export interface StallingProxyOptions {
  target: { host: string; port: number };
  /** Called when the client (the program under test) closes a connection while stalled. */
  onClientCloseWhileStalled?: () => void;
}

export async function startStallingProxy(options: StallingProxyOptions): Promise<StallingProxy> {
  const sockets = new Set<Socket>();
  let stalled = false;
  let closing = false;
  const server = createServer((client) => {
    const upstream = connect(options.target);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      // Once stalled, nothing more gets through: the bytes are dropped, never answered.
      from.on('data', (chunk) => {
        if (!stalled) to.write(chunk);
      });
      from.on('error', () => {
        from.destroy();
      });
    }
    client.on('close', () => {
      sockets.delete(client);
      if (stalled && !closing) options.onClientCloseWhileStalled?.();
      upstream.destroy();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      // Behind a dead path the client learns nothing of the server going away.
      if (!stalled) client.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    stall() {
      stalled = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
