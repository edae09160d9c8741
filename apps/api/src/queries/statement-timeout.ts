/**
 * The database URL with PostgreSQL's statement_timeout set for every connection made from it
 * (postgres.js sends URL parameters it does not know itself as connection parameters). 0 leaves
 * the server's own setting. A URL that does not parse is returned as it is, for createSql to
 * report.
 */
export function withStatementTimeout(url: string, timeoutMs: number): string {
  if (timeoutMs === 0) return url;
  try {
    const parsed = new URL(url);
    parsed.searchParams.set('statement_timeout', String(timeoutMs));
    return parsed.href;
  } catch {
    return url;
  }
}
