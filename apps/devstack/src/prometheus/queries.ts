// Every PromQL expression the chart ships: dashboard panel targets, dashboard variables and the
// alert rules, plus what the checks need to run them outside Grafana. Shared by the checks against
// a Prometheus scraping local processes (test/integration/observability) and the one that the
// prometheus-operator configures on the real node (test/e2e/prometheus-operator.test.ts).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../paths.ts';
import { hasData, type PrometheusClient } from './query.ts';

export const CHART_FILES = path.join(REPO_ROOT, 'charts', 'telemetrypulse', 'files');
export const DASHBOARDS_DIR = path.join(CHART_FILES, 'dashboards');
export const RULES_FILE = path.join(CHART_FILES, 'prometheus-rules.yaml');

export interface DatasourceRef {
  type?: string;
  uid?: string;
}

export interface Target {
  refId?: string;
  expr?: string;
  datasource?: DatasourceRef;
}

export interface Panel {
  id?: unknown;
  type?: string;
  title?: string;
  datasource?: DatasourceRef;
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: Target[];
}

export interface Variable {
  name?: string;
  type?: string;
  query?: unknown;
  datasource?: DatasourceRef;
}

export interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: unknown;
  panels?: Panel[];
  templating?: { list?: Variable[] };
}

export interface LoadedDashboard {
  file: string;
  dashboard: Dashboard;
}

export function loadDashboards(): LoadedDashboard[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({
      file,
      dashboard: JSON.parse(readFileSync(path.join(DASHBOARDS_DIR, file), 'utf8')) as Dashboard,
    }));
}

/** One expression to run, and where it comes from (for failure messages). */
export interface NamedQuery {
  where: string;
  expr: string;
}

export function panelQueries(dashboards = loadDashboards()): NamedQuery[] {
  return dashboards.flatMap(({ file, dashboard }) =>
    (dashboard.panels ?? []).flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({
        where: `${file} / ${panel.title ?? '?'} / ${target.refId ?? '?'}`,
        expr: target.expr ?? '',
      })),
    ),
  );
}

/** A query variable's `label_values(metric, label)` as PromQL, with the label it lists. */
export interface VariableQuery extends NamedQuery {
  name: string;
  label: string;
}

export function variableQueries(dashboards = loadDashboards()): VariableQuery[] {
  return dashboards.flatMap(({ file, dashboard }) =>
    (dashboard.templating?.list ?? [])
      .filter((v) => v.type === 'query')
      .map((v) => {
        const raw = v.query as string | { query?: string } | undefined;
        const text = typeof raw === 'string' ? raw : (raw?.query ?? '');
        const match = /^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/.exec(text.trim());
        if (!match?.[1] || !match[2]) {
          throw new Error(`${file}: variable ${v.name ?? '?'} is not label_values(...): ${text}`);
        }
        return {
          where: `${file} / variable ${v.name ?? '?'}`,
          name: v.name ?? '',
          label: match[2],
          expr: `count by (${match[2]}) (${match[1]})`,
        };
      }),
  );
}

/** Grafana's built-in interval variables, as they would be with a short scrape interval. */
const BUILT_INS: Record<string, string> = {
  __rate_interval: '20s',
  __interval: '5s',
  __range: '5m',
};

/** Replaces $name and ${name} with built-ins or `values`; an unknown variable is an error. */
export function substitute(expr: string, values: Record<string, string> = {}): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? '';
    const value = BUILT_INS[name] ?? values[name];
    if (value === undefined) throw new Error(`unknown variable ${whole} in ${expr}`);
    return value;
  });
}

export interface AlertRule {
  group: string;
  alert: string;
  expr: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function loadRules(): AlertRule[] {
  const file = parse(readFileSync(RULES_FILE, 'utf8')) as {
    groups: { name: string; rules: (Partial<AlertRule> & { expr: string; record?: string })[] }[];
  };
  return file.groups.flatMap((g) =>
    g.rules.map((r) => ({
      group: g.name,
      alert: r.alert ?? r.record ?? '?',
      expr: r.expr,
      labels: r.labels ?? {},
      annotations: r.annotations ?? {},
    })),
  );
}

/** Top-level pieces of `expr` separated by `separator` (outside brackets and strings). */
function splitTopLevel(expr: string, separator: RegExp): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr.charAt(i);
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (depth === 0) {
      const match = separator.exec(expr.slice(i));
      if (match?.index === 0) {
        parts.push(expr.slice(start, i));
        i += match[0].length - 1;
        start = i + 1;
      }
    }
  }
  parts.push(expr.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/**
 * The measurements an alert compares: each operand of its top-level and/or/unless, without its
 * comparison against a threshold, and `absent(x)` as `x`. An alert expression is rightly empty
 * while nothing is wrong; these must return data whenever the metrics exist.
 */
export function ruleMeasurements(expr: string): string[] {
  return splitTopLevel(expr, /^\s(and|or|unless)\s/).map((operand) => {
    const [measured = operand] = splitTopLevel(operand, /^(==|!=|>=|<=|>|<)/);
    const absent = /^absent\(([\s\S]*)\)$/.exec(measured);
    return (absent?.[1] ?? measured).replace(/\s+/g, ' ').trim();
  });
}

/**
 * The dashboards' variable queries and every panel query, the variables filled in as Grafana
 * would: each with `preferred` when it lists it, else the first value it lists.
 */
export async function resolvedDashboardQueries(
  client: PrometheusClient,
  preferred: Record<string, string> = {},
): Promise<NamedQuery[]> {
  const variables = variableQueries();
  const values: Record<string, string> = {};
  for (const v of variables) {
    const answer = await client.query(v.expr);
    const listed =
      answer.resultType === 'vector' ? answer.result.map((s) => s.metric[v.label]) : [];
    const wanted = preferred[v.name];
    // Without values the variable's own query is reported empty; its panels then are too.
    values[v.name] =
      wanted !== undefined && listed.includes(wanted) ? wanted : (listed[0] ?? 'no-value');
  }
  return [...variables, ...panelQueries().map((q) => ({ ...q, expr: substitute(q.expr, values) }))];
}

/** The measurement behind each alert rule (ruleMeasurements), named after its rule. */
export function ruleMeasurementQueries(rules = loadRules()): NamedQuery[] {
  return rules.flatMap((rule) =>
    ruleMeasurements(rule.expr).map((expr) => ({ where: `rule ${rule.alert}`, expr })),
  );
}

export interface Outcome {
  query: NamedQuery;
  /** 'data', 'empty' or the error Prometheus answered. */
  result: string;
}

export async function runQueries(
  client: PrometheusClient,
  queries: readonly NamedQuery[],
): Promise<Outcome[]> {
  return Promise.all(
    queries.map(async (query) => {
      try {
        return { query, result: hasData(await client.query(query.expr)) ? 'data' : 'empty' };
      } catch (error) {
        return {
          query,
          result: `error: ${error instanceof Error ? error.message : String(error)}`,
        };
      }
    }),
  );
}

/** The outcomes without data, one per line with the expression under it; '' when none. */
export function withoutData(outcomes: readonly Outcome[]): string {
  return outcomes
    .filter((o) => o.result !== 'data')
    .map((o) => `  ${o.query.where}: ${o.result}\n    ${o.query.expr}`)
    .join('\n');
}
