// The supervisor's progress, read by `make cluster` while it waits and by `make cluster-down`.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { NODE_PATHS } from './layout.ts';

export interface NodeStatus {
  state: 'starting' | 'ready' | 'failed' | 'stopping';
  /** What it is starting now. */
  step?: string;
  error?: string;
  server?: string;
  kubeconfig?: string;
  /** The external servers the chart's apps use on this node. */
  kafkaBrokers?: string;
  databaseUrl?: string;
}

export function writeNodeStatus(status: NodeStatus): void {
  writeFileSync(NODE_PATHS.status, `${JSON.stringify(status)}\n`);
}

export function readNodeStatus(): NodeStatus | undefined {
  if (!existsSync(NODE_PATHS.status)) return undefined;
  try {
    return JSON.parse(readFileSync(NODE_PATHS.status, 'utf8')) as NodeStatus;
  } catch {
    return undefined; // being written
  }
}
