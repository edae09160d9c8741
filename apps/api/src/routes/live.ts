import { Type } from '@sinclair/typebox';
import type { LiveHub } from '../live-hub.ts';
import { PROBLEM_TYPES, ProblemError } from '../problem.ts';
import type { ApiRouter } from '../route.ts';
import { SiteId } from '../schemas.ts';

export interface LiveRoutesOptions {
  hub: LiveHub | undefined;
  heartbeatMs: number;
  maxClients: number;
}

function unavailable(detail: string): ProblemError {
  return new ProblemError({
    type: PROBLEM_TYPES.unavailable,
    title: 'Service Unavailable',
    status: 503,
    detail,
  });
}

export function liveRoutes(
  api: ApiRouter,
  { hub, heartbeatMs, maxClients }: LiveRoutesOptions,
): void {
  api.route(
    {
      method: 'get',
      path: '/api/v1/live',
      operationId: 'live',
      summary: 'Server-Sent Events: alert changes and new 5-minute aggregates',
      description:
        'Events: `alert` (an Alert, when one opens or its status, acknowledgement or comment ' +
        'changes) and `aggregates` ({site_id, windows: [...]}, the 5-minute windows that ' +
        'changed, coalesced per site). A comment line is sent as heartbeat. Filter with site_id.',
      tags: ['live'],
      access: 'read',
      query: Type.Object({ site_id: Type.Optional(SiteId) }),
      responses: {
        200: { description: 'an event stream that stays open', contentType: 'text/event-stream' },
        503: { description: 'the live stream is unavailable or full; retry later' },
      },
    },
    (input, req, res) => {
      if (!hub) throw unavailable('the live stream is not enabled');
      if (hub.clients() >= maxClients) {
        res.setHeader('Retry-After', '30');
        throw unavailable(`at most ${maxClients} live streams are served at once`);
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // ingress-nginx would buffer the stream otherwise.
        'x-accel-buffering': 'no',
      });
      // Reconnect after 5 s; the first line also flushes the headers to the client.
      res.write('retry: 5000\n: connected\n\n');
      const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
      const unsubscribe = hub.subscribe({
        siteId: input.query.site_id,
        send: (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
        end: () => res.end(),
      });
      req.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
      });
    },
  );
}
