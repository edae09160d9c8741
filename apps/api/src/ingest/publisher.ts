import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { sendWithTrace, type Logger, type TelemetryEvent } from '@telemetrypulse/shared';

/** Where ingest puts accepted events. */
export interface EventPublisher {
  /** Resolves once Kafka acknowledged every event; rejects with PublishUnavailable otherwise. */
  publish(events: readonly TelemetryEvent[]): Promise<void>;
  /** Connected, and the last send (if any) succeeded: what readiness reports for ingest. */
  isReady(): boolean;
  close(): Promise<void>;
}

/** Kafka did not take the events in time; the client should retry later (503 + Retry-After). */
export class PublishUnavailable extends Error {
  override name = 'PublishUnavailable';
}

export interface KafkaPublisherOptions {
  kafka: Pick<Kafka, 'producer'>;
  topic: string;
  /** A send (including connecting) that takes longer fails with PublishUnavailable. */
  timeoutMs: number;
  logger: Logger;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new PublishUnavailable(`${what} took longer than ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/**
 * Publishes to the events topic keyed by device_id (so one device's readings stay in order on one
 * partition), with acks from all in-sync replicas. Connects lazily and reconnects after failures,
 * so the API starts and serves reads while Kafka is still down.
 */
export function createKafkaPublisher(options: KafkaPublisherOptions): EventPublisher {
  const { topic, timeoutMs, logger } = options;
  // Java's murmur2 partitioner, as the simulator uses: a device lands on the same partition.
  const producer: Producer = options.kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    // Few retries: a caller waiting on HTTP is better served by a quick 503 than a long hang.
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  let connecting: Promise<void> | undefined;
  let healthy = false;
  let closed = false;
  producer.on(producer.events.DISCONNECT, () => {
    healthy = false;
    connecting = undefined;
  });

  const connect = (): Promise<void> => {
    connecting ??= producer.connect().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    });
    return connecting;
  };

  return {
    async publish(events) {
      if (closed) throw new PublishUnavailable('the API is shutting down');
      try {
        await withTimeout(
          connect().then(async () => {
            // Nothing to send: only connect (readiness uses that to check Kafka).
            if (events.length === 0) return;
            // A PRODUCER span under the request's span; its traceparent rides on every message.
            await sendWithTrace(topic, events.length, (headers) =>
              producer.send({
                topic,
                acks: -1,
                messages: events.map((e) => ({
                  key: e.device_id,
                  value: JSON.stringify(e),
                  headers,
                })),
              }),
            );
          }),
          timeoutMs,
          'publishing to Kafka',
        );
        healthy = true;
      } catch (error) {
        healthy = false;
        logger.warn({ err: error, events: events.length }, 'publishing to Kafka failed');
        throw error instanceof PublishUnavailable
          ? error
          : new PublishUnavailable('Kafka is unavailable', { cause: error });
      }
    },
    isReady: () => healthy,
    async close() {
      closed = true;
      await producer.disconnect().catch(() => undefined);
    },
  };
}

/** Connects in the background, so readiness turns true without waiting for the first event. */
export function warmUp(publisher: EventPublisher): void {
  publisher.publish([]).catch(() => undefined); // publish logged it
}
