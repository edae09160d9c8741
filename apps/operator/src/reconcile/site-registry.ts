// The sites registry in PostgreSQL: the processor reloads per-site alert rules from it on a
// notification, so a Site's threshold overrides take effect without restarting anything.
import { clearSiteSpecs, upsertSites, type Site, type Sql } from '@telemetrypulse/shared';

export interface SiteRegistry {
  /** Writes the spec; true when it changed (the processors were notified). */
  upsert(site: Site): Promise<boolean>;
  /** The Site is gone: its rules fall back to the defaults. */
  clear(siteId: string): Promise<void>;
  /** Clears every site with a spec that is not among `present` (Sites deleted while we were away). */
  clearAllExcept(present: readonly string[]): Promise<string[]>;
}

export function sqlSiteRegistry(sql: Sql): SiteRegistry {
  return {
    async upsert(site) {
      return (await upsertSites(sql, [site])).length > 0;
    },
    async clear(siteId) {
      await clearSiteSpecs(sql, [siteId]);
    },
    async clearAllExcept(present) {
      const rows = await sql<{ site_id: string }[]>`
        select site_id from sites
        where spec <> '{}'::jsonb and not (site_id = any(${[...present]}::text[]))`;
      return clearSiteSpecs(
        sql,
        rows.map((r) => r.site_id),
      );
    },
  };
}
