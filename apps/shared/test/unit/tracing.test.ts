import assert from 'node:assert/strict';
import { trace } from '@opentelemetry/api';
import type { IHeaders } from 'kafkajs';
import {
  batchTrace,
  createLogger,
  initTracing,
  processWithTrace,
  sendWithTrace,
  traceHeaders,
  tracingActive,
  tracingConfigured,
  withSpan,
  type Tracing,
} from '@telemetrypulse/shared';
import { recordSpans } from '@telemetrypulse/devstack/test';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

describe('tracing', () => {
  describe('tracingConfigured', () => {
    const cases: [NodeJS.ProcessEnv, boolean][] = [
      [{}, false],
      [{ OTEL_TRACES_EXPORTER: 'none' }, false],
      [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
      [{ OTEL_TRACES_EXPORTER: ' console ' }, true],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
      [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
      [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, false],
      [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }, false],
    ];
    for (const [env, expected] of cases) {
      it(`when the environment is ${JSON.stringify(env)}, then tracing is ${expected ? 'on' : 'off'}`, () => {
        assert.equal(tracingConfigured(env), expected);
      });
    }
  });

  describe('when no exporter is configured', () => {
    let tracing: Tracing;
    before(async () => {
      tracing = await initTracing('test', { env: {} });
    });

    it('then the SDK is not started and messages get no headers', async () => {
      assert.equal(tracing.enabled, false);
      assert.equal(tracingActive(), false);
      assert.equal(traceHeaders(), undefined);
      const headers = await sendWithTrace('t', 3, (h) => Promise.resolve(h));
      assert.equal(headers, undefined);
      const result = await processWithTrace('t', [{ headers: {} }], () => Promise.resolve(7));
      assert.equal(result, 7);
    });
  });

  describe('with an in-memory exporter', () => {
    const recorded = recordSpans('test');

    it('when a line is logged inside a traced request or batch, then it carries trace_id and span_id; outside, neither', async () => {
      const lines: Record<string, unknown>[] = [];
      const log = createLogger('api', 'info', {
        write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
      });
      await withSpan('GET /kpis/live', {}, async () => {
        log.child({ request_id: 'r-1' }).info('request completed');
        await processWithTrace('telemetry.events', [{ headers: {} }], async () => {
          log.error({ err: new Error('store failed') }, 'batch failed');
          return Promise.resolve();
        });
      });
      log.info('idle');
      const [request, batch] = await recorded
        .finished()
        .then((spans) =>
          ['GET /kpis/live', 'process telemetry.events'].map((name) =>
            spans.find((s) => s.name === name),
          ),
        );
      assert.ok(request && batch, 'the request and batch spans');
      assert.equal(lines.length, 3);
      const [inRequest, inBatch, outside] = lines;
      assert.equal(inRequest?.trace_id, request.spanContext().traceId);
      assert.equal(inRequest.span_id, request.spanContext().spanId);
      assert.equal(inRequest.trace_flags, '01');
      assert.equal(inBatch?.span_id, batch.spanContext().spanId);
      assert.equal(inBatch.service, 'api');
      assert.equal((inBatch.err as { message: string }).message, 'store failed');
      assert.equal(outside?.service, 'api');
      assert.equal('trace_id' in outside, false);
      assert.equal('span_id' in outside, false);
    });

    it('when a batch is sent, then its headers carry the producer span as W3C traceparent', async () => {
      const headers = await sendWithTrace('telemetry.events', 2, (h) => Promise.resolve(h));
      const [span] = await recorded.finished();
      assert.ok(span);
      assert.equal(span.name, 'send telemetry.events');
      assert.equal(span.attributes['messaging.batch.message_count'], 2);
      const match = TRACEPARENT.exec(String(headers?.traceparent));
      assert.ok(match, `traceparent ${String(headers?.traceparent)}`);
      assert.equal(match[1], span.spanContext().traceId);
      assert.equal(match[2], span.spanContext().spanId);
    });

    it('when a send fails, then its span is marked failed and the error reaches the caller', async () => {
      await assert.rejects(
        sendWithTrace('t', 1, () => Promise.reject(new Error('broker gone'))),
        /broker gone/,
      );
      const [span] = await recorded.finished();
      assert.equal(span?.status.code, 2);
      assert.equal(span.status.message, 'broker gone');
    });

    it('when a batch mixes producers, then its span continues the first trace and links the others once each', async () => {
      const first = await sendWithTrace('t', 1, (h) => Promise.resolve(h));
      const second = await sendWithTrace('t', 1, (h) => Promise.resolve(h));
      const [producer1, producer2] = await recorded.finished();
      recorded.reset();
      // As consumed: header values are Buffers; an untraced message in between.
      const asConsumed = (h: IHeaders | undefined) => ({
        headers: { traceparent: Buffer.from(String(h?.traceparent)) },
      });
      const messages = [asConsumed(first), {}, asConsumed(second), asConsumed(first)];

      const plan = batchTrace(messages);
      assert.equal(trace.getSpanContext(plan.parent)?.spanId, producer1?.spanContext().spanId);
      assert.deepEqual(
        plan.links.map((l) => l.context.spanId),
        [producer2?.spanContext().spanId],
      );

      await processWithTrace('t', messages, () =>
        withSpan('store batch', {}, () => Promise.resolve()),
      );
      const spans = await recorded.finished();
      const consumer = spans.find((s) => s.name === 'process t');
      const child = spans.find((s) => s.name === 'store batch');
      assert.ok(consumer && child);
      assert.equal(consumer.spanContext().traceId, producer1?.spanContext().traceId);
      assert.equal(consumer.parentSpanContext?.spanId, producer1?.spanContext().spanId);
      assert.deepEqual(
        consumer.links.map((l) => l.context.spanId),
        [producer2?.spanContext().spanId],
      );
      // Work inside the batch span is its child.
      assert.equal(child.parentSpanContext?.spanId, consumer.spanContext().spanId);
    });

    it('when a batch carries no trace context, then its span starts a trace of its own', async () => {
      await processWithTrace('t', [{ headers: { other: 'x' } }, {}], () => Promise.resolve());
      const [span] = await recorded.finished();
      assert.ok(span);
      assert.equal(span.parentSpanContext, undefined);
      assert.deepEqual(span.links, []);
    });
  });
});
