import type { Kafka, Producer } from 'kafkajs';
import { Counter, type Registry } from 'prom-client';
import type { Logger, Sql } from '@telemetrypulse/shared';
import { backoffMs } from '../ingest/retry.ts';
import { ALERT_OUTBOX_CHANNEL } from './store.ts';

export interface OutboxPublisherOptions {
  sql: Sql;
  kafka: Kafka;
  logger: Logger;
  registry: Registry;
  /** The alerts topic. */
  topic: string;
  /** Rows sent per transaction. */
  batchSize?: number;
  /** How often to look for rows when no notification came (a batch committed elsewhere). */
  pollMs?: number;
}

export interface OutboxPublisher {
  /** Sends one claim of waiting rows; returns how many were sent. */
  publishOnce(): Promise<number>;
  /** Stops the loop, then sends what is still waiting (best effort) and disconnects. */
  stop(): Promise<void>;
}

interface OutboxRow {
  outbox_id: number;
  alert_id: number;
  transition: string;
  payload: string;
}

/**
 * Publishes the alert outbox to the alerts topic: claims the oldest rows with
 * `for update skip locked` (so replicas never send the same row at the same time), sends them
 * acknowledged by all replicas, and deletes them in the same transaction. A crash after the send
 * and before the commit sends those rows again later: at least once, never lost.
 */
export async function startOutboxPublisher(
  options: OutboxPublisherOptions,
): Promise<OutboxPublisher> {
  const { sql, logger, topic } = options;
  const batchSize = options.batchSize ?? 500;
  const pollMs = options.pollMs ?? 1000;
  const registers = [options.registry];
  const published = new Counter({
    name: 'telemetry_processor_alerts_published_total',
    help: 'Alert transitions published to the alerts topic, by transition (opened, resolved)',
    labelNames: ['transition'],
    registers,
  });
  const failures = new Counter({
    name: 'telemetry_processor_alert_publish_failures_total',
    help: 'Attempts to publish the alert outbox that failed and will be retried',
    registers,
  });
  // At least once: a crash between send and delete, or a client retry, can repeat a transition
  // (consumers dedupe on alert_id + transition). kafkajs's idempotent mode is not used: it can
  // desynchronise its sequence numbers for good (OUT_OF_ORDER_SEQUENCE_NUMBER).
  const producer: Producer = options.kafka.producer({
    allowAutoTopicCreation: false,
  });
  await producer.connect();

  const publishOnce = async (): Promise<number> => {
    const transitions = await sql.begin(async (tx): Promise<string[]> => {
      const rows = await tx<OutboxRow[]>`
        select outbox_id, alert_id, transition, payload::text as payload from alert_outbox
        order by outbox_id limit ${batchSize}
        for update skip locked`;
      if (rows.length === 0) return [];
      await producer.send({
        topic,
        acks: -1,
        // Keyed by incident: its records share a partition, and consumers order them by the
        // version in the record (replicas' publishers may still send them out of order).
        messages: rows.map((r) => ({
          key: String(r.alert_id),
          value: r.payload,
          headers: { transition: r.transition },
        })),
      });
      await tx`delete from alert_outbox where outbox_id = any(${rows.map((r) => r.outbox_id)}::bigint[])`;
      return rows.map((r) => r.transition);
    });
    // Counted once committed: a row whose delete rolled back is sent (and counted) again later.
    for (const transition of transitions) published.inc({ transition });
    return transitions.length;
  };

  let stopping = false;
  // A wake-up that comes while a claim is being sent makes the next nap return at once.
  let woken = false;
  let endNap: (() => void) | undefined;
  const wake = () => {
    if (endNap) endNap();
    else woken = true;
  };
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken) {
        woken = false;
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(timer);
        endNap = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      endNap = done;
    });

  const loop = async () => {
    let attempt = 0;
    while (!stopping) {
      try {
        const sent = await publishOnce();
        attempt = 0;
        if (sent < batchSize) await nap(pollMs);
      } catch (error) {
        failures.inc();
        const delayMs = backoffMs(attempt++);
        logger.warn({ err: error, delayMs }, 'could not publish the alert outbox; retrying');
        await nap(delayMs);
      }
    }
  };

  // Batches that queue transitions notify, so they go out at once, not at the next poll.
  const listener = await sql.listen(ALERT_OUTBOX_CHANNEL, wake, wake);
  const running = loop();

  return {
    publishOnce,
    async stop() {
      stopping = true;
      wake();
      await running;
      await listener.unlisten().catch(() => undefined);
      try {
        while ((await publishOnce()) > 0);
      } catch (error) {
        // Still in the outbox: the next processor to start sends it.
        logger.warn({ err: error }, 'alert outbox not flushed at shutdown');
      }
      await producer.disconnect();
    },
  };
}
