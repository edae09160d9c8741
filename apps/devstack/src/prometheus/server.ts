// A throwaway Prometheus on a free loopback port: generated scrape config, data in a temporary
// folder, stopped by its PID.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { logTail, startChild, waitForChild } from '../child.ts';
import { freePort } from '../ports.ts';
import { installPrometheus } from './install.ts';
import { createPrometheusClient, type PrometheusClient } from './query.ts';

export interface ScrapeTarget {
  /** The `job` label of the target's series. */
  job: string;
  /** host:port serving /metrics. */
  address: string;
  /** Extra labels on every series of the target (e.g. what a Kubernetes pod would get). */
  labels?: Record<string, string>;
}

export interface PrometheusOptions {
  targets: readonly ScrapeTarget[];
  /** Short, so a test sees rates after a few seconds; also the rule evaluation interval. */
  scrapeIntervalSeconds?: number;
  /** Rule files to load (and evaluate). */
  ruleFiles?: readonly string[];
}

export interface PrometheusServer extends PrometheusClient {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** The prometheus.yml for `options`: one scrape job per distinct job name. */
export function scrapeConfig(options: PrometheusOptions): string {
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  const jobs = new Map<string, ScrapeTarget[]>();
  for (const target of options.targets) {
    jobs.set(target.job, [...(jobs.get(target.job) ?? []), target]);
  }
  return stringify({
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: [...jobs].map(([job, targets]) => ({
      job_name: job,
      scrape_timeout: interval,
      static_configs: targets.map((t) => ({ targets: [t.address], labels: t.labels ?? {} })),
    })),
  });
}

/** A port another process took between freePort() and Prometheus binding it. */
const PORT_TAKEN = /address already in use/;

/**
 * Starts Prometheus scraping `options.targets` and waits until it answers queries. A port lost to
 * a race with another process is retried on a fresh one; any other exit fails with its log's end.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const { prometheus } = await installPrometheus();
  const dir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(config, scrapeConfig(options));
  const removeDir = () => {
    if (!process.env.KEEP_TEST_PLATFORM) rmSync(dir, { recursive: true, force: true });
  };
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const logFile = path.join(dir, `prometheus-${attempt}.log`);
    const child = startChild({
      name: 'Prometheus',
      command: prometheus,
      args: [
        `--config.file=${config}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      logFile,
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      const ready = async () => (await fetch(`${url}/-/ready`)).ok;
      await waitForChild(child, logFile, `Prometheus on ${url}`, ready, 60_000);
    } catch (error) {
      await child.stop(10_000);
      if (attempt < 3 && PORT_TAKEN.test(logTail(logFile))) continue;
      removeDir();
      throw error;
    }
    const stop = async () => {
      await child.stop(10_000);
      removeDir();
    };
    return { ...createPrometheusClient(url), url, pid: child.pid, stop };
  }
}
