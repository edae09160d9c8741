import { Type } from '@sinclair/typebox';
import type { Response } from 'express';
import { TelemetryEventSchema, type TelemetryEvent } from '@telemetrypulse/shared';
import { invalidInput, PROBLEM_TYPES, ProblemError } from '../http/problem.ts';
import type { ApiRouter } from '../http/route.ts';
import { checkBatch, checkEvent } from '../ingest/event-check.ts';
import { PublishUnavailable, type EventPublisher } from '../ingest/publisher.ts';
import { Nullable, SensorType } from '../schemas.ts';
import { COMPAT_TAG } from './compat.ts';

/** The event as submitted: the contract's fields, event_id and ts_event optional. */
export const SubmittedEvent = Type.Object(
  {
    ...TelemetryEventSchema.properties,
    // Absent or null, the server fills them in (completeEvent).
    event_id: Type.Optional(
      Nullable(TelemetryEventSchema.properties.event_id, {
        description:
          'the idempotency key; absent or null: the server makes a new one (a UUIDv7 of the time it received the event)',
      }),
    ),
    ts_event: Type.Optional(
      Nullable(TelemetryEventSchema.properties.ts_event, {
        description: 'absent or null: the time the server received the event',
      }),
    ),
    sensor_type: SensorType,
  },
  { title: 'SubmittedEvent' },
);

const MAX_BATCH = 1000;

/**
 * What /api/v1/events takes, as documented: any object or array, each event judged on its own
 * (SubmittedEvent, then the contract's ranges and times), so one bad item never fails the rest.
 * The handler checks the events; this schema only tells clients (and fuzzers) the shape.
 */
const EventsBody = Type.Union(
  [
    SubmittedEvent,
    Type.Object({}, { description: 'an event; one that is not valid is listed in errors' }),
    Type.Array(Type.Union([SubmittedEvent, Type.Unknown()]), {
      maxItems: MAX_BATCH,
      description: 'events, each checked on its own; those that are not valid are listed in errors',
    }),
  ],
  { title: 'EventsBody' },
);

const IngestResult = Type.Object({
  accepted: Type.Integer({ minimum: 0 }),
  rejected: Type.Integer({ minimum: 0 }),
  errors: Type.Array(Type.Object({ index: Type.Integer(), reason: Type.String() })),
});

const RETRY_AFTER_HEADER = {
  'Retry-After': { description: 'seconds to wait before retrying', schema: Type.Integer() },
};

export interface IngestRoutesOptions {
  publisher: EventPublisher | undefined;
  now: () => number;
  retryAfterSeconds: number;
}

function invalidEvent(reason: string): ProblemError {
  return new ProblemError({
    type: PROBLEM_TYPES.invalidEvent,
    title: 'Invalid event',
    status: 422,
    detail: reason,
  });
}

export function ingestRoutes(api: ApiRouter, options: IngestRoutesOptions): void {
  const { publisher, now } = options;

  /** Kafka down (or not configured): 503 with Retry-After, so clients back off and retry. */
  async function publish(res: Response, events: readonly TelemetryEvent[]): Promise<void> {
    try {
      if (!publisher) throw new PublishUnavailable('ingest is not configured');
      await publisher.publish(events);
    } catch (error) {
      if (!(error instanceof PublishUnavailable)) throw error;
      res.setHeader('Retry-After', String(options.retryAfterSeconds));
      throw new ProblemError({
        type: PROBLEM_TYPES.unavailable,
        title: 'Service Unavailable',
        status: 503,
        detail: 'the event queue is unavailable; retry later',
      });
    }
  }

  const unavailable = {
    description: 'Kafka is unavailable; retry after the given seconds',
    headers: RETRY_AFTER_HEADER,
  };

  api.route(
    {
      method: 'post',
      path: '/ingest',
      operationId: 'ingestOne',
      summary: 'Queue one event (the original route)',
      tags: [COMPAT_TAG],
      access: 'write',
      body: SubmittedEvent,
      bodyCheckedByHandler: true,
      responses: {
        201: {
          description: 'queued',
          schema: Type.Object({ status: Type.Literal('accepted'), message: Type.String() }),
        },
        400: { description: 'the body is not a JSON object' },
        422: { description: 'the event breaks the contract; detail says why' },
        503: unavailable,
      },
    },
    async ({ body }: { body: unknown }, _req, res) => {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw invalidInput('the body must be one JSON event object');
      }
      const result = checkEvent(body, now());
      if (!result.ok) throw invalidEvent(result.reason);
      await publish(res, [result.event]);
      res.status(201).json({ status: 'accepted', message: 'Event queued' });
    },
  );

  api.route(
    {
      method: 'post',
      path: '/api/v1/events',
      operationId: 'ingestEvents',
      summary: 'Queue one event or a batch of events',
      description:
        `A batch (at most ${MAX_BATCH}) is accepted item by item: valid events are queued, ` +
        'the others are listed with their reason.',
      tags: ['ingest'],
      access: 'write',
      body: EventsBody,
      bodyCheckedByHandler: true,
      responses: {
        202: { description: 'what was queued, and why the rest was not', schema: IngestResult },
        400: { description: 'the body is neither an event nor an array of events' },
        503: unavailable,
      },
    },
    async ({ body }: { body: unknown }, _req, res) => {
      const isObject = typeof body === 'object' && body !== null;
      if (!isObject) throw invalidInput('the body must be an event object or an array of events');
      const items = Array.isArray(body) ? (body as unknown[]) : [body];
      if (items.length > MAX_BATCH) {
        throw invalidInput(`a batch holds at most ${MAX_BATCH} events, got ${items.length}`);
      }
      const { accepted, errors } = checkBatch(items, now());
      await publish(res, accepted);
      res.status(202).json({ accepted: accepted.length, rejected: errors.length, errors });
    },
  );
}
