import {
  createSql,
  DEFAULT_ALERT_RULES,
  type Logger,
  type TelemetryEvent,
} from '@telemetrypulse/shared';
import { storeBatch } from '../src/ingest/store.ts';
import { cpuSeconds } from './process-cpu.ts';

export interface StoreOnly {
  eventsPerSecond: number;
  /** PostgreSQL's CPU per event (postmaster and all its processes). */
  postgresCpuUsPerEvent: number;
  /** PostgreSQL's CPU seconds per second: 1 is one core busy all the time. */
  postgresBusyCores: number;
}

/**
 * The database's side of the pipeline alone: the bench's own process stores the events with the
 * processor's storeBatch (the same statement, alert rules and transactions), in transactions of
 * `perTransaction` consecutive events, `inFlight` at a time, with no Kafka and no decoding. Its
 * rate over COPY's is the share of COPY the processor could reach if PostgreSQL had the machine
 * to itself; the drain's rate below it is what sharing the cores with the processor costs.
 */
export async function measureStoreOnly(
  url: string,
  postgresPid: number,
  events: readonly TelemetryEvent[],
  {
    perTransaction,
    inFlight,
    logger,
  }: { perTransaction: number; inFlight: number; logger: Logger },
): Promise<StoreOnly> {
  const sql = createSql({ url, poolSize: inFlight, logger, applicationName: 'bench-store-only' });
  try {
    const size = Math.max(1, Math.round(perTransaction));
    let next = 0;
    const lane = async () => {
      while (next < events.length) {
        const batch = events.slice(next, next + size);
        next += size;
        await storeBatch(sql, batch, DEFAULT_ALERT_RULES);
      }
    };
    const cpuBefore = cpuSeconds(postgresPid);
    const start = performance.now();
    await Promise.all(Array.from({ length: inFlight }, lane));
    const seconds = (performance.now() - start) / 1000;
    const cpu = cpuSeconds(postgresPid) - cpuBefore;
    return {
      eventsPerSecond: events.length / seconds,
      postgresCpuUsPerEvent: (cpu * 1e6) / events.length,
      postgresBusyCores: cpu / seconds,
    };
  } finally {
    await sql.end();
  }
}
