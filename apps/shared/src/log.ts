import { isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { commonEnv, schemaDefault } from './config.ts';

export type { Logger };

/**
 * The active span's ids on every line written inside a traced request or batch, so a log line
 * leads to its trace (the field names OpenTelemetry's log data model and pino's own
 * instrumentation use). With tracing off there is no active span and nothing is added.
 */
function traceFields(): Record<string, string> {
  const context = trace.getActiveSpan()?.spanContext();
  if (!context || !isSpanContextValid(context)) return {};
  return {
    trace_id: context.traceId,
    span_id: context.spanId,
    trace_flags: `0${context.traceFlags.toString(16)}`.slice(-2),
  };
}

/**
 * Structured JSON logs, one logger per service, level from LOG_LEVEL. Every app logs its name as
 * `service` and an error under `err` (pino's serializer: type, message, stack).
 */
export function createLogger(
  service: string,
  level: string = process.env.LOG_LEVEL ?? schemaDefault({ properties: commonEnv }, 'LOG_LEVEL'),
  destination?: DestinationStream,
): Logger {
  const options = {
    level: level as LevelWithSilent,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    mixin: traceFields,
  };
  return destination ? pino(options, destination) : pino(options);
}
