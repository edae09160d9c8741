/** A quantile from Prometheus histogram text, interpolated inside the bucket (histogram_quantile). */
export function histogramQuantile(
  metricsText: string,
  name: string,
  q: number,
): number | undefined {
  const buckets: { le: number; count: number }[] = [];
  const pattern = new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\S+)$`, 'gm');
  for (const match of metricsText.matchAll(pattern)) {
    buckets.push({
      le: match[1] === '+Inf' ? Infinity : Number(match[1]),
      count: Number(match[2]),
    });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let previous = { le: 0, count: 0 };
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return previous.le;
      const inBucket = bucket.count - previous.count;
      return (
        previous.le +
        (bucket.le - previous.le) * (inBucket === 0 ? 0 : (rank - previous.count) / inBucket)
      );
    }
    previous = bucket;
  }
  return undefined;
}

/** One sample (a counter, or a histogram's _sum or _count) from Prometheus text; 0 if absent. */
export function sample(metricsText: string, name: string): number {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metricsText);
  return match ? Number(match[1]) : 0;
}
