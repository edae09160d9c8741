import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { readConfig } from '@telemetrypulse/shared';
import { LOCAL_DIR, REPO_ROOT } from '../paths.ts';
import type { ExitReason } from './restart-policy.ts';

/**
 * The local stack's ports and sources. Defaults keep clear of a PostgreSQL on 5432 and a Kafka on
 * 9092 that may already run on the machine. KAFKA_BROKERS / DATABASE_URL use external servers.
 */
export const StackEnv = Type.Object({
  KAFKA_BROKERS: Type.Optional(Type.String({ minLength: 1 })),
  DATABASE_URL: Type.Optional(Type.String({ minLength: 1 })),
  KAFKA_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 19092 }),
  KAFKA_CONTROLLER_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 19093 }),
  POSTGRES_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 55432 }),
  API_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 8000 }),
  PROCESSOR_METRICS_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 9464 }),
  SIMULATOR_METRICS_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 9470 }),
  SITES_DIR: Type.String({ default: path.join(REPO_ROOT, 'k8s', 'examples') }),
  LOG_LEVEL: Type.String({ default: 'info' }),
  // Writes to the API (ingest, acknowledge, resolve) need a key; the local stack sets this one.
  API_KEYS: Type.String({ minLength: 1, default: 'local-dev-key' }),
});
export type StackSettings = Static<typeof StackEnv>;

export const readStackSettings = (env: NodeJS.ProcessEnv = process.env): StackSettings =>
  readConfig(StackEnv, env);

export const STACK_FILES = {
  pid: path.join(LOCAL_DIR, 'stack.pid'),
  state: path.join(LOCAL_DIR, 'stack.json'),
  logs: path.join(LOCAL_DIR, 'logs'),
  kafka: path.join(LOCAL_DIR, 'kafka'),
  postgres: path.join(LOCAL_DIR, 'postgres'),
};

/** One app the supervisor keeps running (restarted with backoff when it exits on its own). */
export interface AppStatus {
  pid: number;
  /** restarting: it exited and the supervisor starts it again at `restartAt`. */
  status: 'running' | 'restarting' | 'stopped';
  startedAt: string;
  /** Restarts since `make up`. */
  restarts: number;
  lastExit?: ExitReason & { at: string };
  restartAt?: string;
}

export interface StackState {
  state: 'starting' | 'ready' | 'stopping' | 'failed';
  error?: string;
  supervisorPid: number;
  /** Every process the stack started, by name, so `down` can stop leftovers by PID. */
  pids: Record<string, number>;
  /** The apps (processor, API, simulators), by name; absent in a state written before them. */
  apps?: Record<string, AppStatus>;
  endpoints: Record<string, string>;
  sites: string[];
  /** The sites with a running simulator (every site but the paused ones). */
  simulated: string[];
}
