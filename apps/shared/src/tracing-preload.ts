// Preload for apps that serve HTTP (the API): `node --import <this file> apps/api/src/main.ts`,
// or NODE_OPTIONS=--import=<this file> in a container. ESM binds every import before the first
// line of main runs, so express and http can only be patched from here. Without an exporter in
// the OTEL_* variables it does nothing.
// import-in-the-middle comes with @opentelemetry/instrumentation; its hooks run in-thread.
import { register } from 'import-in-the-middle/register-hooks.mjs';
import { initTracing, tracingConfigured } from './tracing.ts';

/** `api` for .../apps/api/src/main.ts: the same name as the app's `service` metrics label. */
function serviceFromEntry(entry: string | undefined): string {
  return /apps\/([^/]+)\/src\//.exec(entry ?? '')?.[1] ?? 'telemetrypulse';
}

if (tracingConfigured()) {
  // Only these modules go through import-in-the-middle; the rest load untouched.
  register({ include: ['express', 'http', 'https'] });
  await initTracing(serviceFromEntry(process.argv[1]), { instrumentations: ['http', 'express'] });
}
