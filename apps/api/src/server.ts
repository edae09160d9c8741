import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener, ServerResponse } from 'node:http';

export interface RunningServer {
  /** The bound port (the real one when asked for port 0). */
  port: number;
  /**
   * Drains, then stops: every response from now on closes its connection, and for up to
   * `drainMs` the server keeps listening and keeps idle keep-alive connections, so a client's
   * next request on one is answered (and the connection ended) instead of cut under it. Then it
   * stops accepting and resolves once in-flight requests finished; connections still open after
   * `graceMs` (a stuck client, a stream nobody ended) are cut.
   */
  close(options?: { graceMs?: number; drainMs?: number }): Promise<void>;
}

export async function startServer(
  handler: RequestListener,
  { host, port }: { host: string; port: number },
): Promise<RunningServer> {
  const server = createServer(handler);
  // Longer than ingress-nginx's upstream keep-alive (60 s), so the proxy, not us, closes idle
  // connections and never reuses one we are closing.
  server.keepAliveTimeout = 65_000;
  // draining: every response ends its connection (Connection: close), so kept-alive clients get
  // their next answer and go; idle connections are left alone for their one last request.
  // stopped (after server.close): a connection that falls idle is closed at once, or it would
  // wait for its next request, or for the grace period, keeping close open.
  let draining = false;
  let stopped = false;
  const unanswered = new Set<ServerResponse>();
  server.prependListener('request', (_req, res: ServerResponse) => {
    if (draining) res.shouldKeepAlive = false;
    unanswered.add(res);
    res.once('close', () => unanswered.delete(res));
    res.once('finish', () => {
      if (stopped)
        setImmediate(() => {
          server.closeIdleConnections();
        });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const openConnections = () =>
    new Promise<number>((resolve) => {
      server.getConnections((error, count) => {
        resolve(error ? 0 : count);
      });
    });
  const drain = async (drainMs: number) => {
    const until = Date.now() + drainMs;
    while (Date.now() < until && (await openConnections()) > 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return {
    port: (server.address() as AddressInfo).port,
    close: async ({ graceMs = 10_000, drainMs = 0 } = {}) => {
      draining = true;
      // Requests already in flight end their connections too, unless their headers are out.
      for (const res of unanswered) if (!res.headersSent) res.shouldKeepAlive = false;
      await drain(drainMs);
      stopped = true;
      await new Promise<void>((resolve, reject) => {
        const cut = setTimeout(() => {
          server.closeAllConnections();
        }, graceMs);
        cut.unref();
        // close() also drops idle keep-alive connections; busy ones end after their response.
        server.close((error) => {
          clearTimeout(cut);
          if (error) reject(error);
          else resolve();
        });
      });
    },
  };
}
