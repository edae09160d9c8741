import type { Site } from './contract/site.ts';
import type { Sql } from './db.ts';

/** Notified whenever a site's spec changes; processors reload their alert rules on it. */
export const SITES_CHANNEL = 'telemetrypulse_sites';

/**
 * Writes Site specs into the registry table (the local stack from its manifests, a controller
 * from Site resources) and notifies the processors when any spec really changed. The
 * notification is sent on commit, so a processor that hears it reads the new specs.
 * Returns the ids of the sites whose spec or display name changed.
 */
export async function upsertSites(sql: Sql, sites: readonly Site[]): Promise<string[]> {
  if (sites.length === 0) return [];
  const rows = sites.map((s) => ({
    site_id: s.siteId,
    display_name: s.spec.displayName ?? null,
    spec: s.spec,
  }));
  return sql.begin(async (tx) => {
    // In site order, as the processor's batches touch sites, so the two never deadlock. The
    // document goes as text: a jsonb parameter would be JSON-encoded a second time.
    const changed = await tx<{ site_id: string }[]>`
      insert into sites as s (site_id, display_name, spec)
      select r.site_id, r.display_name, r.spec
      from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb)
        as r(site_id text, display_name text, spec jsonb)
      order by r.site_id
      on conflict (site_id) do update set
        display_name = excluded.display_name,
        spec = excluded.spec,
        updated_at = now()
      where s.spec is distinct from excluded.spec
         or s.display_name is distinct from excluded.display_name
      returning s.site_id`;
    if (changed.length > 0) await tx`select pg_notify(${SITES_CHANNEL}, '')`;
    return changed.map((r) => r.site_id).sort();
  });
}

/**
 * Forgets the specs of sites whose resource is gone: their alert rules fall back to the
 * defaults. The rows stay, with the history they describe.
 */
export async function clearSiteSpecs(sql: Sql, siteIds: readonly string[]): Promise<string[]> {
  if (siteIds.length === 0) return [];
  return sql.begin(async (tx) => {
    const changed = await tx<{ site_id: string }[]>`
      with locked as (
        select site_id from sites
        where site_id = any(${[...siteIds]}::text[]) and spec <> '{}'::jsonb
        order by site_id for update
      )
      update sites s set spec = '{}'::jsonb, updated_at = now()
      from locked where s.site_id = locked.site_id
      returning s.site_id`;
    if (changed.length > 0) await tx`select pg_notify(${SITES_CHANNEL}, '')`;
    return changed.map((r) => r.site_id).sort();
  });
}
