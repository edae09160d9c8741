import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface ProcessorProcess {
  child: ChildProcess;
  /** Resolves with the exit code, or the signal that ended it. */
  exited: Promise<number | string>;
  output(): string;
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
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
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
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
    });
  });
  return { child, exited, output: () => output };
}
