// W3C trace context (traceparent, tracestate) in Kafka message headers: the producer's span
// travels with each message, so a consumer's span can link back to it.
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type Context,
  type Link,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';
import { appTracer, recordError, tracingActive } from './tracing.ts';

/** Kafka allows repeated headers; the first value counts. Consumed values arrive as Buffers. */
function headerValue(headers: IHeaders, key: string): string | undefined {
  const raw = headers[key];
  const first = Array.isArray(raw) ? raw[0] : raw;
  return first === undefined ? undefined : first.toString();
}

const setter: TextMapSetter<IHeaders> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

const getter: TextMapGetter<IHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => headerValue(carrier, key),
};

/**
 * Headers carrying `ctx`'s trace context, or undefined when there is none to carry (tracing
 * off, or no span in `ctx`), so untraced messages stay header-free.
 */
export function traceHeaders(ctx: Context = context.active()): IHeaders | undefined {
  const headers: IHeaders = {};
  propagation.inject(ctx, headers, setter);
  return Object.keys(headers).length > 0 ? headers : undefined;
}

/** The trace context a consumed message carries (the root context when it carries none). */
export function extractTraceContext(headers: IHeaders | undefined): Context {
  return headers ? propagation.extract(ROOT_CONTEXT, headers, getter) : ROOT_CONTEXT;
}

/** Span links kept per batch span: far below the SDK's default limit of 128. */
export const MAX_BATCH_LINKS = 64;

export interface BatchTrace {
  /** The first traced message's context: the batch span continues that trace. */
  parent: Context;
  /** The other producer spans of the batch, one per distinct traceparent, at most `max`. */
  links: Link[];
}

/**
 * Where a consumed batch's span belongs: a producer stamps one traceparent on a whole send
 * batch, so a consumer batch holds few distinct ones.
 */
export function batchTrace(
  messages: readonly { headers?: IHeaders }[],
  max = MAX_BATCH_LINKS,
): BatchTrace {
  const seen = new Set<string>();
  let parent: Context = ROOT_CONTEXT;
  const links: Link[] = [];
  for (const message of messages) {
    if (links.length >= max) break;
    const traceparent = message.headers ? headerValue(message.headers, 'traceparent') : undefined;
    if (traceparent === undefined || seen.has(traceparent)) continue;
    seen.add(traceparent);
    const ctx = extractTraceContext(message.headers);
    const spanContext = trace.getSpanContext(ctx);
    if (!spanContext || !trace.isSpanContextValid(spanContext)) continue;
    if (parent === ROOT_CONTEXT) parent = ctx;
    else links.push({ context: spanContext });
  }
  return { parent, links };
}

/**
 * Runs one producer send inside a PRODUCER span named `send <topic>`; `send` gets the headers
 * to put on every message of the batch (undefined with tracing off). One span per batch keeps
 * the cost per message at a shared header object.
 */
export async function sendWithTrace<T>(
  topic: string,
  messageCount: number,
  send: (headers: IHeaders | undefined) => Promise<T>,
): Promise<T> {
  if (!tracingActive()) return send(undefined);
  return appTracer().startActiveSpan(
    `send ${topic}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.destination.name': topic,
        'messaging.batch.message_count': messageCount,
      },
    },
    async (span) => {
      try {
        return await send(span.isRecording() ? traceHeaders() : undefined);
      } catch (error) {
        recordError(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/**
 * Runs the handling of a consumed batch inside a CONSUMER span named `process <topic>`. The span
 * continues the trace of the batch's first traced message and links the other producers' spans,
 * so a trace viewer shows producer → consumer end to end. With tracing off nothing is parsed.
 */
export async function processWithTrace<T>(
  topic: string,
  messages: readonly { headers?: IHeaders }[],
  handle: () => Promise<T>,
): Promise<T> {
  if (!tracingActive()) return handle();
  const { parent, links } = batchTrace(messages);
  return appTracer().startActiveSpan(
    `process ${topic}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'process',
        'messaging.destination.name': topic,
        'messaging.batch.message_count': messages.length,
      },
    },
    parent,
    async (span) => {
      try {
        return await handle();
      } catch (error) {
        recordError(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
