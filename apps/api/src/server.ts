import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener, ServerResponse } from 'node:http';

export interface RunningServer {
  /** The bound port (the real one when asked for port 0). */
  port: number;
  /**
   * Stops accepting, lets in-flight requests finish, then resolves. Connections still open after
   * `graceMs` (a stuck client, a stream nobody ended) are cut.
   */
  close(graceMs?: number): Promise<void>;
}

export async function startServer(
  handler: RequestListener,
  { host, port }: { host: string; port: number },
): Promise<RunningServer> {
  const server = createServer(handler);
  // Longer than ingress-nginx's upstream keep-alive (60 s), so the proxy, not us, closes idle
  // connections and never reuses one we are closing.
  server.keepAliveTimeout = 65_000;
  // close() drops only the connections idle at that moment: one whose response ends later would
  // otherwise wait for its next request, or for the grace period to run out, keeping close open.
  let closing = false;
  server.prependListener('request', (_req, res: ServerResponse) => {
    // Not yet answered: tell the client this connection ends with the response.
    if (closing) res.shouldKeepAlive = false;
    res.once('finish', () => {
      if (closing)
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
  return {
    port: (server.address() as AddressInfo).port,
    close: (graceMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        closing = true;
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
      }),
  };
}
