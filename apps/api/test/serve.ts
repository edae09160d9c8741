import type { Express } from 'express';
import { startServer } from '../src/server.ts';

export interface Served {
  url: string;
  close(): Promise<void>;
}

/** Runs an app on a free loopback port, as main does on its configured one. */
export async function serve(app: Express): Promise<Served> {
  const server = await startServer(app, { host: '127.0.0.1', port: 0 });
  return { url: `http://127.0.0.1:${server.port}`, close: () => server.close() };
}
