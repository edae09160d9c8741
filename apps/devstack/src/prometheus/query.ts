// The bits of Prometheus's HTTP API (/api/v1) the checks use.

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export type QueryResult =
  | { resultType: 'vector'; result: Sample[] }
  | {
      resultType: 'matrix';
      result: { metric: Record<string, string>; values: [number, string][] }[];
    }
  | { resultType: 'scalar' | 'string'; result: [number, string] };

export interface TargetHealth {
  job: string;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

export interface RuleHealth {
  group: string;
  name: string;
  type: 'alerting' | 'recording';
  health: 'ok' | 'err' | 'unknown';
  lastError?: string;
}

export interface PrometheusClient {
  /** An instant query; rejects with Prometheus's error text when the expression is invalid. */
  query(expr: string): Promise<QueryResult>;
  targets(): Promise<TargetHealth[]>;
  rules(): Promise<RuleHealth[]>;
}

/** True when a query answered with at least one series (a scalar always counts). */
export function hasData(result: QueryResult): boolean {
  return result.resultType === 'scalar' || result.resultType === 'string'
    ? true
    : result.result.length > 0;
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
}

async function get<T>(url: string): Promise<T> {
  const response = await fetch(url);
  const body = (await response.json()) as ApiAnswer<T>;
  if (body.status !== 'success' || body.data === undefined) {
    throw new Error(`Prometheus ${body.errorType ?? response.status}: ${body.error ?? 'no data'}`);
  }
  return body.data;
}

export function createPrometheusClient(baseUrl: string): PrometheusClient {
  return {
    query: (expr) =>
      get<QueryResult>(
        `${baseUrl}/api/v1/query?${new URLSearchParams({ query: expr }).toString()}`,
      ),
    targets: async () =>
      (
        await get<{ activeTargets: (TargetHealth & { labels: { job: string } })[] }>(
          `${baseUrl}/api/v1/targets?state=active`,
        )
      ).activeTargets.map((t) => ({
        job: t.labels.job,
        scrapeUrl: t.scrapeUrl,
        health: t.health,
        lastError: t.lastError,
      })),
    rules: async () =>
      (
        await get<{ groups: { name: string; rules: Omit<RuleHealth, 'group'>[] }[] }>(
          `${baseUrl}/api/v1/rules`,
        )
      ).groups.flatMap((g) =>
        g.rules.map((r) => ({
          group: g.name,
          name: r.name,
          type: r.type,
          health: r.health,
          lastError: r.lastError,
        })),
      ),
  };
}
