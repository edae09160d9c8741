import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

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
