import { fileURLToPath } from 'node:url';
import { spawnNode, type NodeProcess } from '@telemetrypulse/devstack/test';

/** The processor's entry point. */
export const PROCESSOR_MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface ProcessorProcess extends NodeProcess {
  /** Ends it at once (SIGKILL) if it still runs; a test wanting a clean stop sends SIGTERM. */
  stop(): Promise<void>;
}

export interface ProcessorProcessOptions {
  brokers: string;
  databaseUrl: string;
  topics: { events: string; dlq: string; alerts: string };
  groupId: string;
  env?: Record<string, string>;
}

/** The real processor program as a separate OS process, so tests can SIGKILL or SIGTERM it. */
export function spawnProcessor(options: ProcessorProcessOptions): ProcessorProcess {
  const program = spawnNode(PROCESSOR_MAIN, {
    KAFKA_BROKERS: options.brokers,
    DATABASE_URL: options.databaseUrl,
    EVENTS_TOPIC: options.topics.events,
    DLQ_TOPIC: options.topics.dlq,
    ALERTS_TOPIC: options.topics.alerts,
    CONSUMER_GROUP: options.groupId,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    ...options.env,
  });
  return { ...program, stop: () => program.kill() };
}
