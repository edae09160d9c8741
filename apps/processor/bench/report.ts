import { cpus } from 'node:os';
import type { Drain } from './drain.ts';
import type { Latency } from './latency.ts';
import type { ScaleOut } from './scale-out.ts';
import type { StoreOnly } from './store-only.ts';
import { nodeOptions, storeTransactionsInFlight } from './replica.ts';
import { BENCH_EVENT_IDS } from './synthetic.ts';
import { rounded, spread, type Spread } from './stats.ts';
import type { TransactionStates } from './transaction-states.ts';

/** One run's figures: every measurement once. */
export interface Run {
  preloadEventsPerSecond: number;
  kafkaClientEventsPerSecond: number;
  copyRowsPerSecond: number;
  seedStyleEventsPerSecond: number;
  storeOnly: StoreOnly;
  drain: Drain;
  at10k: Latency;
  atHalfDrain: Latency;
  /** The group's drains (two, one after the other; none when the bench skips them). */
  scaleOut: ScaleOut[];
  /** One replica again, right after the group's: with `drain`, it brackets the group's drains. */
  drainAfterScaleOut: Drain | undefined;
  loadavg1m: { before: number; after: number };
}

/** Issue 18's targets, each met or not by the median of the runs. */
export const TARGETS = {
  latency_p99_ms_at_10k: 250,
  latency_p99_ms_at_half_drain: 1_000,
  ratio_to_copy: 0.6,
  peak_rss_mib: 256,
};

/** Mean transactions per sample in each state (transaction-states.ts), over the runs. */
const byState = (runs: readonly Run[], states: (r: Run) => readonly TransactionStates[]) => {
  const pick = (k: keyof TransactionStates) =>
    over(runs, (r) => mean(states(r).map((s) => s[k])), 2);
  return {
    working: pick('working'),
    lock: pick('lock'),
    io: pick('io'),
    waiting_for_replica: pick('waitingForReplica'),
    waiting_for_replica_after_begin: pick('waitingAfterBegin'),
  };
};

const over = (runs: readonly Run[], figure: (r: Run) => number | undefined, digits = 0) =>
  rounded(spread(runs.map(figure)), digits);

function met(median: Spread | null, ok: (m: number) => boolean): boolean {
  return median !== null && ok(median.median);
}

const mean = (values: readonly number[]) =>
  values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : undefined;

/** One replica's drains of the run around the group's: the first drain, and the one after. */
const oneReplicaDrains = (r: Run) => (r.drainAfterScaleOut ? [r.drain, r.drainAfterScaleOut] : []);

/** A figure of the group's drains, averaged over the run's. */
const group = (r: Run, figure: (s: ScaleOut) => number) => mean(r.scaleOut.map(figure));

/** A figure of one replica's drains around the group's, averaged. */
const one = (r: Run, figure: (d: Drain) => number) => mean(oneReplicaDrains(r).map(figure));

const peakRss = (r: Run) =>
  Math.max(
    r.drain.peakRssMiB ?? 0,
    r.drainAfterScaleOut?.peakRssMiB ?? 0,
    r.at10k.peakRssMiB ?? 0,
    r.atHalfDrain.peakRssMiB ?? 0,
  );

/** Each latency stage's p50, p99 and tail mean (latency-stages.ts), as spreads over the runs. */
function stagesOver(runs: readonly Run[], at: (r: Run) => Latency) {
  const stage = (name: 'produce' | 'fetch' | 'queued' | 'store') => ({
    p50: over(runs, (r) => at(r).stages[name].p50),
    p99: over(runs, (r) => at(r).stages[name].p99),
    tail_mean: over(runs, (r) => at(r).stages[name].tailMean),
  });
  return {
    share_of_events_placed: over(runs, (r) => at(r).stages.events / at(r).sent, 3),
    produce: stage('produce'),
    fetch: stage('fetch'),
    queued: stage('queued'),
    store: stage('store'),
  };
}

export function report(total: number, runs: readonly Run[], latencySeconds: number) {
  const figures = {
    processor_events_per_s: over(runs, (r) => r.drain.eventsPerSecond),
    ratio_to_copy: over(runs, (r) => r.drain.eventsPerSecond / r.copyRowsPerSecond, 2),
    ratio_to_seed_style: over(runs, (r) => r.drain.eventsPerSecond / r.seedStyleEventsPerSecond, 1),
    copy_rows_per_s: over(runs, (r) => r.copyRowsPerSecond),
    seed_style_events_per_s: over(runs, (r) => r.seedStyleEventsPerSecond),
    // PostgreSQL's side alone (storeBatch from the bench, no Kafka, no decoding): the share of
    // COPY the processor could reach if the database had the machine to itself.
    store_only_events_per_s: over(runs, (r) => r.storeOnly.eventsPerSecond),
    store_only_ratio_to_copy: over(
      runs,
      (r) => r.storeOnly.eventsPerSecond / r.copyRowsPerSecond,
      2,
    ),
    store_only_postgres_cpu_us_per_event: over(runs, (r) => r.storeOnly.postgresCpuUsPerEvent, 1),
    store_only_postgres_busy_cores: over(runs, (r) => r.storeOnly.postgresBusyCores, 2),
    kafka_client_events_per_s: over(runs, (r) => r.kafkaClientEventsPerSecond),
    preload_events_per_s: over(runs, (r) => r.preloadEventsPerSecond),
    drain_seconds: over(runs, (r) => r.drain.seconds, 1),
    latency_p50_ms_at_10k: over(runs, (r) => r.at10k.p50Ms),
    latency_p99_ms_at_10k: over(runs, (r) => r.at10k.p99Ms),
    latency_max_ms_at_10k: over(runs, (r) => r.at10k.maxMs),
    half_drain_rate_events_per_s: over(runs, (r) => r.atHalfDrain.rate),
    latency_p50_ms_at_half_drain: over(runs, (r) => r.atHalfDrain.p50Ms),
    latency_p99_ms_at_half_drain: over(runs, (r) => r.atHalfDrain.p99Ms),
    latency_max_ms_at_half_drain: over(runs, (r) => r.atHalfDrain.maxMs),
    peak_rss_mib: over(runs, peakRss),
    latency_stages_ms_at_10k: stagesOver(runs, (r) => r.at10k),
    latency_stages_ms_at_half_drain: stagesOver(runs, (r) => r.atHalfDrain),
    cpu_us_per_event: {
      processor: over(runs, (r) => r.drain.cpuUsPerEvent.processor, 1),
      postgres: over(runs, (r) => r.drain.cpuUsPerEvent.postgres, 1),
      broker: over(runs, (r) => r.drain.cpuUsPerEvent.broker, 1),
    },
  };
  return {
    benchmark: 'processor',
    events: total,
    runs: runs.length,
    latency_seconds_per_run: latencySeconds,
    latency_method:
      'per event: producer send → commit timestamp of the transaction that stored its row and windows',
    figures,
    drain: {
      busy_cores: {
        processor: over(runs, (r) => r.drain.busy.processor, 2),
        postgres: over(runs, (r) => r.drain.busy.postgres, 2),
        broker: over(runs, (r) => r.drain.busy.broker, 2),
      },
      db_wait_fraction: over(runs, (r) => r.drain.dbWaitFraction, 2),
      processor_compute_fraction: over(runs, (r) => r.drain.busy.processor, 2),
      transactions: over(runs, (r) => r.drain.transactions),
      store_retries: over(runs, (r) => r.drain.storeRetries),
      row_lock_wait_fraction: over(runs, (r) => r.drain.rowLockWaitFraction, 2),
      transactions_by_state: byState(runs, (r) => [r.drain.transactionStates]),
      mean_transaction_ms: over(runs, (r) => r.drain.meanTransactionMs, 1),
      events_per_transaction: over(
        runs,
        (r) => (r.drain.eventsPerSecond * r.drain.seconds) / r.drain.transactions,
      ),
      gc_us_per_event: Object.fromEntries(
        ['major', 'minor', 'incremental', 'weakcb'].map((kind) => [
          kind,
          over(runs, (r) => r.drain.gcUsPerEvent[kind] ?? 0, 2),
        ]),
      ),
      memory_at_peak_mib: {
        rss: over(runs, (r) => r.drain.memoryAtPeak.rss),
        heap_total: over(runs, (r) => r.drain.memoryAtPeak.heapTotal),
        heap_used: over(runs, (r) => r.drain.memoryAtPeak.heapUsed),
        live_heap: over(runs, (r) => r.drain.memoryAtPeak.liveHeap),
        external: over(runs, (r) => r.drain.memoryAtPeak.external),
        rest: over(
          runs,
          (r) =>
            r.drain.memoryAtPeak.rss -
            r.drain.memoryAtPeak.heapTotal -
            r.drain.memoryAtPeak.external,
        ),
      },
    },
    scale_out: runs.some((r) => r.scaleOut.length > 0)
      ? {
          replicas: runs[0]?.scaleOut[0]?.replicas ?? 0,
          events_per_s: over(runs, (r) => group(r, (s) => s.eventsPerSecond)),
          // The group's drains over one replica's around them (one, group, group, one).
          ratio_to_one_replica: over(
            runs,
            (r) => {
              const groupRate = group(r, (s) => s.eventsPerSecond);
              const oneRate = one(r, (d) => d.eventsPerSecond);
              return groupRate !== undefined && oneRate ? groupRate / oneRate : undefined;
            },
            2,
          ),
          events_per_s_per_run: runs.map((r) => ({
            one_replica: oneReplicaDrains(r).map((d) => Math.round(d.eventsPerSecond)),
            group: r.scaleOut.map((s) => Math.round(s.eventsPerSecond)),
          })),
          cpu_us_per_event: {
            processors: over(runs, (r) => group(r, (s) => s.cpuUsPerEvent.processors), 1),
            postgres: over(runs, (r) => group(r, (s) => s.cpuUsPerEvent.postgres), 1),
            broker: over(runs, (r) => group(r, (s) => s.cpuUsPerEvent.broker), 1),
          },
          one_replica_cpu_us_per_event: {
            processor: over(runs, (r) => one(r, (d) => d.cpuUsPerEvent.processor), 1),
            postgres: over(runs, (r) => one(r, (d) => d.cpuUsPerEvent.postgres), 1),
            broker: over(runs, (r) => one(r, (d) => d.cpuUsPerEvent.broker), 1),
          },
          // Store transactions in flight on average (the replicas together), and their size.
          transactions_in_flight: over(
            runs,
            (r) => group(r, (s) => s.transactionSeconds / s.seconds),
            2,
          ),
          // Main-thread garbage-collection pauses per event (all kinds), the group's and one replica's.
          gc_us_per_event: over(runs, (r) => group(r, (s) => s.gcUsPerEvent), 2),
          one_replica_gc_us_per_event: over(
            runs,
            (r) => one(r, (d) => Object.values(d.gcUsPerEvent).reduce((a, b) => a + b, 0)),
            2,
          ),
          one_replica_transactions_in_flight: over(runs, (r) => one(r, (d) => d.dbWaitFraction), 2),
          events_per_transaction: over(runs, (r) =>
            group(r, (s) => (s.eventsPerSecond * s.seconds) / Math.max(1, s.transactions)),
          ),
          settle_seconds: over(runs, (r) => group(r, (s) => s.settleSeconds), 1),
          lock_wait_fraction: over(runs, (r) => group(r, (s) => s.lockWaitFraction), 2),
          row_lock_wait_fraction: over(runs, (r) => group(r, (s) => s.rowLockWaitFraction), 2),
          transactions_by_state: byState(runs, (r) => r.scaleOut.map((s) => s.transactionStates)),
          stored_by_replica_per_run: runs.map((r) => r.scaleOut.map((s) => s.storedByReplica)),
        }
      : null,
    targets: TARGETS,
    met: {
      latency_p99_ms_at_10k: met(
        figures.latency_p99_ms_at_10k,
        (m) => m <= TARGETS.latency_p99_ms_at_10k,
      ),
      latency_p99_ms_at_half_drain: met(
        figures.latency_p99_ms_at_half_drain,
        (m) => m <= TARGETS.latency_p99_ms_at_half_drain,
      ),
      ratio_to_copy: met(figures.ratio_to_copy, (m) => m >= TARGETS.ratio_to_copy),
      peak_rss_mib: met(figures.peak_rss_mib, (m) => m > 0 && m <= TARGETS.peak_rss_mib),
    },
    processor_node_options: nodeOptions,
    event_ids: BENCH_EVENT_IDS,
    store_transactions_in_flight: storeTransactionsInFlight,
    machine: {
      cpus: cpus().length,
      loadavg_1m_per_run: runs.map((r) => ({
        before: Number(r.loadavg1m.before.toFixed(2)),
        after: Number(r.loadavg1m.after.toFixed(2)),
        drain_start: Number(r.drain.loadavg1m.before.toFixed(2)),
        drain_end: Number(r.drain.loadavg1m.after.toFixed(2)),
      })),
    },
  };
}
