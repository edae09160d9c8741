import {
  resolveAlertRules,
  type AlertRule,
  type SensorType,
  type SiteThresholds,
} from '@telemetrypulse/shared';

/** One site's rules, by the sensor they judge. */
export type SensorRules = ReadonlyMap<SensorType, AlertRule>;

/** The rules in force at each site. */
export interface RuleBook {
  forSite(siteId: string): SensorRules;
}

/** One rule list for every site, or a book per site; tools and tests pass plain lists. */
export type AlertRules = readonly AlertRule[] | RuleBook;

export function bySensor(rules: readonly AlertRule[]): SensorRules {
  return new Map(rules.map((r) => [r.sensorType, r]));
}

/** Resolves every site's overrides against the defaults once; sites without any get the defaults. */
export function ruleBook(
  defaults: readonly AlertRule[],
  overrides: ReadonlyMap<string, SiteThresholds> = new Map(),
): RuleBook {
  const fallback = bySensor(defaults);
  const sites = new Map(
    [...overrides].map(([siteId, t]) => [siteId, bySensor(resolveAlertRules(defaults, t))]),
  );
  return { forSite: (siteId) => sites.get(siteId) ?? fallback };
}

export function asRuleBook(rules: AlertRules): RuleBook {
  return 'forSite' in rules ? rules : ruleBook(rules);
}

/**
 * A book that answers each site the same way for as long as it lives, even when the book
 * behind it is refreshed meanwhile: one batch judges with one set of rules.
 */
export function frozenRuleBook(rules: AlertRules): RuleBook {
  const book = asRuleBook(rules);
  const seen = new Map<string, SensorRules>();
  return {
    forSite(siteId) {
      let found = seen.get(siteId);
      if (!found) {
        found = book.forSite(siteId);
        seen.set(siteId, found);
      }
      return found;
    },
  };
}
