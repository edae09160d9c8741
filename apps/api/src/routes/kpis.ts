import { Type } from '@sinclair/typebox';
import { Router } from 'express';
import { TelemetryEventSchema, type Sql } from '@telemetrypulse/shared';
import { selectLiveKpis } from '../queries/kpis.ts';
import { queryParser } from '../query.ts';

/** A site id here is what the event contract accepts, so every stored site can be asked for. */
export const LiveKpisQuery = Type.Object({
  site_id: Type.Optional(TelemetryEventSchema.properties.site_id),
});

export interface KpisRoutesOptions {
  sql: Sql;
  lookbackMs: number;
  now: () => number;
}

export function kpisRoutes({ sql, lookbackMs, now }: KpisRoutesOptions): Router {
  const router = Router();
  const parseLiveQuery = queryParser(LiveKpisQuery);

  router.get('/kpis/live', async (req, res) => {
    const query = parseLiveQuery(req.query);
    const kpis = await selectLiveKpis(sql, {
      siteId: query.site_id,
      since: new Date(now() - lookbackMs),
    });
    res.json(kpis);
  });

  return router;
}
