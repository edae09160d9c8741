import {
  parseThresholds,
  SITES_CHANNEL,
  type AlertRule,
  type Logger,
  type SiteThresholds,
  type Sql,
} from '@telemetrypulse/shared';
import { ruleBook, type RuleBook } from './rules.ts';

export interface SiteRulesOptions {
  sql: Sql;
  logger: Logger;
  defaults: readonly AlertRule[];
  /** The safety net behind the notifications: reload this often anyway. */
  refreshMs: number;
}

/** The rules in force per site, kept current from the sites table while the processor runs. */
export interface SiteRules extends RuleBook {
  /** Reloads now; concurrent calls share one reload, and one more runs if asked meanwhile. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

/** Every site's valid overrides; a site whose overrides are invalid keeps the defaults. */
async function loadOverrides(sql: Sql, logger: Logger): Promise<Map<string, SiteThresholds>> {
  const rows = await sql<{ site_id: string; thresholds: unknown }[]>`
    select site_id, spec->'thresholds' as thresholds from sites
    where spec ? 'thresholds'`;
  const overrides = new Map<string, SiteThresholds>();
  for (const row of rows) {
    try {
      overrides.set(row.site_id, parseThresholds(row.thresholds));
    } catch (error) {
      logger.error(
        { site: row.site_id, problems: (error as Error).message },
        'invalid alert thresholds for the site; it keeps the default rules',
      );
    }
  }
  return overrides;
}

/**
 * Loads the per-site rules, then reloads them whenever the sites channel is notified (a Site's
 * spec changed) and every `refreshMs` in case a notification was missed (the listening
 * connection was down). A failed reload keeps the rules in force.
 */
export async function startSiteRules(options: SiteRulesOptions): Promise<SiteRules> {
  const { sql, logger, defaults } = options;
  let book = ruleBook(defaults);
  let reloading: Promise<void> | undefined;
  // Bumped by every request; a reload repeats until it has served the latest one.
  let requested = 0;

  const reload = async () => {
    try {
      let served = -1;
      while (served !== requested) {
        served = requested;
        const overrides = await loadOverrides(sql, logger);
        book = ruleBook(defaults, overrides);
        logger.debug({ sitesWithOverrides: overrides.size }, 'alert rules loaded');
      }
    } finally {
      // Cleared in the same step as the last check, so no request can slip in between.
      reloading = undefined;
    }
  };
  const refresh = (): Promise<void> => {
    requested += 1;
    reloading ??= reload();
    return reloading;
  };
  const refreshInBackground = () => {
    refresh().catch((error: unknown) => {
      logger.error({ err: error }, 'could not reload the alert rules; keeping the current ones');
    });
  };

  // Listening first, so no change between the first load and the listen goes unheard. The
  // onlisten callback also runs after a reconnect, when notifications may have been missed.
  const listener = await sql.listen(SITES_CHANNEL, refreshInBackground, refreshInBackground);
  await refresh();
  const timer = setInterval(refreshInBackground, options.refreshMs);
  timer.unref();

  return {
    forSite: (siteId) => book.forSite(siteId),
    refresh,
    async stop() {
      clearInterval(timer);
      await listener.unlisten().catch(() => undefined);
      await reloading?.catch(() => undefined);
    },
  };
}
