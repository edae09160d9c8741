import {
  context,
  propagation,
  SpanStatusCode,
  trace,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { flushBeforeExit } from './shutdown.ts';

/** Auto-instrumentations an app may ask for; they patch modules, so load them before those. */
export type Instrumented = 'http' | 'express';

export interface TracingOptions {
  env?: NodeJS.ProcessEnv;
  /** Replace the exporters the OTEL_* variables would choose (tests: an in-memory exporter). */
  spanProcessors?: SpanProcessor[];
  instrumentations?: readonly Instrumented[];
}

export interface Tracing {
  /** False when no exporter is configured: every span is then a free no-op. */
  readonly enabled: boolean;
  /** Exports every finished span now (they are batched otherwise). */
  flush(): Promise<void>;
  /** Exports what is buffered and returns the API to its no-op state. */
  shutdown(): Promise<void>;
}

const DISABLED: Tracing = {
  enabled: false,
  flush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};
let current: Tracing | undefined;

/**
 * True when the standard OTEL_* variables ask for trace export: OTEL_TRACES_EXPORTER set to
 * anything but "none", or an OTLP endpoint (the SDK's default exporter is OTLP).
 * OTEL_SDK_DISABLED=true wins over both.
 */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  if (exporters.length > 0) return !exporters.includes('none');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

async function loadInstrumentations(names: readonly Instrumented[]) {
  const loaded = [];
  if (names.includes('http')) {
    const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
    loaded.push(new HttpInstrumentation());
  }
  if (names.includes('express')) {
    const { ExpressInstrumentation } = await import('@opentelemetry/instrumentation-express');
    loaded.push(new ExpressInstrumentation());
  }
  return loaded;
}

/**
 * Starts the OpenTelemetry SDK for traces when the OTEL_* variables configure an exporter (or
 * the caller passes span processors); otherwise loads nothing and returns a disabled handle.
 * OTEL_SERVICE_NAME overrides `serviceName`. Idempotent: later calls get the first handle.
 * Buffered spans are exported before a shutdown's exit (see onShutdown).
 */
export async function initTracing(
  serviceName: string,
  options: TracingOptions = {},
): Promise<Tracing> {
  if (current) return current;
  const env = options.env ?? process.env;
  if (!options.spanProcessors && !tracingConfigured(env)) return DISABLED;
  // Loaded only when tracing is on: the SDK and its exporters cost start time and memory.
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? serviceName,
    instrumentations: await loadInstrumentations(options.instrumentations ?? []),
    // Traces only: metrics are Prometheus's (prom-client), logs go to stdout (pino).
    metricReaders: [],
    logRecordProcessors: [],
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
  });
  sdk.start();
  // The SDK's provider sits behind the API's proxy; NodeSDK keeps its own reference private.
  const proxy = trace.getTracerProvider() as {
    getDelegate?: () => { forceFlush?: () => Promise<void> };
  };
  const provider = proxy.getDelegate?.() ?? {};
  let stopped: Promise<void> | undefined;
  const handle: Tracing = {
    enabled: true,
    flush: () => provider.forceFlush?.() ?? Promise.resolve(),
    shutdown: () => {
      stopped ??= sdk.shutdown().finally(() => {
        trace.disable();
        propagation.disable();
        context.disable();
        current = undefined;
      });
      return stopped;
    },
  };
  current = handle;
  flushBeforeExit(() => handle.shutdown());
  return handle;
}

/** True between a started initTracing and its shutdown. */
export function tracingActive(): boolean {
  return current !== undefined;
}

/** The tracer every TelemetryPulse span comes from. */
export function appTracer(): Tracer {
  return trace.getTracer('telemetrypulse');
}

/**
 * Runs `fn` inside a new active span that ends when `fn` settles; a thrown error is recorded on
 * the span and rethrown. With tracing off the span is a no-op.
 */
export async function withSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return appTracer().startActiveSpan(name, options, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Marks a span failed with the error's message. */
export function recordError(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

export { SpanKind } from '@opentelemetry/api';
export type { Attributes, Link, Span } from '@opentelemetry/api';
