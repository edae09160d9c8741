// Mocha side of tracing tests: the OpenTelemetry SDK with an in-memory exporter for one describe
// block, so tests read the spans the code under test finished.
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';
import { initTracing, type Instrumented, type Tracing } from '@telemetrypulse/shared';

export interface RecordedSpans {
  /** The SDK handle; set by the `before` hook. */
  readonly tracing: Tracing;
  /** Exports what is still buffered, then returns every span finished since the last reset. */
  finished(): Promise<ReadableSpan[]>;
  /** Forgets the spans recorded so far (done before each test too). */
  reset(): void;
}

/**
 * Registers hooks in the calling describe block: `before` starts tracing as `service` with an
 * in-memory exporter, `beforeEach` forgets earlier spans, `after` shuts the SDK down. Call it
 * before the block's own hooks when they need tracing on (mocha runs hooks in order).
 */
export function recordSpans(
  service: string,
  instrumentations: readonly Instrumented[] = [],
): RecordedSpans {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing | undefined;
  const started = (): Tracing => {
    if (!tracing) throw new Error('recordSpans: tracing is not started (call it in a describe)');
    return tracing;
  };

  before(async () => {
    tracing = await initTracing(service, {
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
      instrumentations,
    });
  });
  after(async () => {
    await tracing?.shutdown();
    tracing = undefined;
  });
  beforeEach(() => {
    exporter.reset();
  });

  return {
    get tracing() {
      return started();
    },
    async finished() {
      await started().flush();
      return exporter.getFinishedSpans();
    },
    reset() {
      exporter.reset();
    },
  };
}
