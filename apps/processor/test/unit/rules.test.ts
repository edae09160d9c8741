// Which rules judge a site's readings: the defaults, or the site's resolution of its overrides.
import assert from 'node:assert/strict';
import { DEFAULT_ALERT_RULES, type AlertRule } from '@telemetrypulse/shared';
import {
  asRuleBook,
  bySensor,
  frozenRuleBook,
  ruleBook,
  type RuleBook,
} from '../../src/alerts/rules.ts';

const thresholdOf = (book: RuleBook, site: string, sensor: AlertRule['sensorType']) =>
  book.forSite(site).get(sensor)?.threshold;

describe('rule books', () => {
  it('when a book has no overrides, then every site gets the defaults by sensor', () => {
    const book = ruleBook(DEFAULT_ALERT_RULES);
    assert.deepEqual(book.forSite('any'), bySensor(DEFAULT_ALERT_RULES));
    assert.equal(book.forSite('any').get('occupancy'), undefined);
  });

  it('when one site overrides, then only that site changes', () => {
    const book = ruleBook(
      DEFAULT_ALERT_RULES,
      new Map([
        ['site-01', { co2: 1200, occupancy: { threshold: 12, severity: 'info' as const } }],
      ]),
    );
    assert.equal(thresholdOf(book, 'site-01', 'co2'), 1200);
    assert.equal(thresholdOf(book, 'site-01', 'temperature'), 30);
    assert.equal(book.forSite('site-01').get('occupancy')?.alertType, 'OCCUPANCY_HIGH');
    assert.equal(thresholdOf(book, 'site-02', 'co2'), 1000);
    assert.equal(thresholdOf(book, 'site-02', 'occupancy'), undefined);
  });

  it('when a plain rule list is given, then it serves as a book for every site', () => {
    const book = asRuleBook(DEFAULT_ALERT_RULES);
    assert.equal(thresholdOf(book, 'x', 'humidity'), 80);
    assert.equal(asRuleBook(book), book);
  });

  it('when the book behind a frozen one changes, then the frozen one keeps answering as it first did', () => {
    let current = ruleBook(DEFAULT_ALERT_RULES);
    const live: RuleBook = { forSite: (site) => current.forSite(site) };
    const frozen = frozenRuleBook(live);
    assert.equal(thresholdOf(frozen, 'site-01', 'co2'), 1000);
    current = ruleBook(
      DEFAULT_ALERT_RULES,
      new Map([
        ['site-01', { co2: 1500 }],
        ['site-02', { co2: 1500 }],
      ]),
    );
    assert.equal(thresholdOf(frozen, 'site-01', 'co2'), 1000);
    assert.equal(thresholdOf(frozen, 'site-02', 'co2'), 1500);
    assert.equal(thresholdOf(live, 'site-01', 'co2'), 1500);
  });
});
