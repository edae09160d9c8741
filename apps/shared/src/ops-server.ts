import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { isShuttingDown } from './shutdown.ts';

export interface OpsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Readiness: false while the process cannot do its job (e.g. database down). */
  ready: () => boolean | Promise<boolean>;
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * /livez (alive), /readyz (can work; 503 from SIGTERM on) and /metrics for apps that serve
 * nothing else. /healthz is the former liveness path, kept for probes written against it.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = req.url?.split('?')[0];
      if (url === '/livez' || url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      } else if (url === '/readyz') {
        const stopping = isShuttingDown();
        const ready = !stopping && (await options.ready());
        const body = ready
          ? { status: 'ready' }
          : { status: 'not ready', ...(stopping && { reason: 'shutting down' }) };
        res
          .writeHead(ready ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify(body));
      } else if (url === '/metrics') {
        const body = await options.registry.metrics();
        res.writeHead(200, { 'content-type': options.registry.contentType }).end(body);
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"status":"not found"}');
      }
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
