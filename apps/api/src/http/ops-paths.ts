/**
 * Probes and scrapes: they arrive every few seconds from the cluster, so they are neither rate
 * limited nor logged per request (their lines would drown the real traffic).
 */
export function isOpsPath(path: string): boolean {
  return (
    path === '/metrics' ||
    path === '/livez' ||
    path === '/readyz' ||
    path === '/health' ||
    path.startsWith('/health/')
  );
}
