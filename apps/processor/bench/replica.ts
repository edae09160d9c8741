import { execFileSync } from 'node:child_process';
import { freePort, NODE_COMPILE_CACHE_DIR } from '@telemetrypulse/devstack/test';
import { schemaDefault } from '@telemetrypulse/shared';
import { ProcessorEnv } from '../src/config.ts';
import {
  PROCESSOR_MAIN,
  spawnProcessor,
  type ProcessorProcess,
} from '../test/processor-process.ts';

/**
 * V8 flags the replica runs with, as `make up` sets them and as the pod runs (NODE_OPTIONS; a
 * unit test keeps them equal). Node sizes the young generation from the machine's memory: 32 MiB
 * semi-spaces here, which held some 110 MiB of RSS for nothing; at 8 MiB the processor's CPU per
 * event measured the same. The old generation's bound is the one Node derives by itself from the
 * chart's 768Mi memory limit in the pod (384 MiB; on this machine it would be some 4 GiB, and V8
 * then lets garbage pile up to some 300 MiB of RSS): docs/performance.md, "Memory".
 */
export const PROCESSOR_NODE_OPTIONS = '--max-semi-space-size=8 --max-old-space-size=384';
export const nodeOptions = process.env.BENCH_PROCESSOR_NODE_OPTIONS ?? PROCESSOR_NODE_OPTIONS;

/** The replicas inherit the bench's environment, so its STORE_TRANSACTIONS_IN_FLIGHT holds. */
export const storeTransactionsInFlight = Number(
  process.env.STORE_TRANSACTIONS_IN_FLIGHT ??
    schemaDefault(ProcessorEnv, 'STORE_TRANSACTIONS_IN_FLIGHT'),
);

/** Like the image: sources load from the compile cache, without the TypeScript compiler. */
const COMPILE_CACHE = { NODE_COMPILE_CACHE: NODE_COMPILE_CACHE_DIR };

/**
 * Fills the compile cache as the image build does (its --help loads every module), so that no
 * measured replica pays for the TypeScript compiler's memory on a first start.
 */
export function warmCompileCache(): void {
  execFileSync(process.execPath, [PROCESSOR_MAIN, '--help'], {
    env: { ...process.env, ...COMPILE_CACHE },
    stdio: 'ignore',
  });
}

export function topicsFor(prefix: string) {
  return { events: `${prefix}.events`, dlq: `${prefix}.dlq`, alerts: `${prefix}.alerts` };
}

export interface Replica {
  port: number;
  processor: ProcessorProcess;
  pid: number;
}

/** One processor replica as its own process on the run's topics, its /metrics on a free port. */
export async function spawnReplica(
  brokers: string,
  url: string,
  run: string,
  groupId: string,
  env: Record<string, string> = {},
): Promise<Replica> {
  const port = await freePort();
  const processor = spawnProcessor({
    brokers,
    databaseUrl: url,
    topics: topicsFor(run),
    groupId,
    env: { HTTP_PORT: String(port), NODE_OPTIONS: nodeOptions, ...COMPILE_CACHE, ...env },
  });
  return { port, processor, pid: processor.child.pid ?? 0 };
}

export async function stopReplica({ processor }: Replica): Promise<void> {
  processor.child.kill('SIGTERM');
  const code = await processor.exited;
  if (code !== 0) throw new Error(`processor exited ${code}: ${processor.output()}`);
}

/** The replica's /metrics text, or '' while it is not listening yet. */
export async function scrape({ port }: Replica): Promise<string> {
  try {
    return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } catch {
    return '';
  }
}
