import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { patchKafkajsRequestQueue } from '@telemetrypulse/shared';
import { startChild, type Child } from './child.ts';
import { CACHE_DIR, DEVSTACK_DIR } from './paths.ts';
import { waitFor } from './ports.ts';

// Its admin client waits for the broker: without the fix, Node warns on stderr (see shared).
patchKafkajsRequestQueue();

/** The broker version we test against; kafkajs 2.2.4 speaks protocol versions Kafka 4 accepts. */
export const KAFKA_VERSION = process.env.KAFKA_VERSION ?? '4.1.1';

export function kafkaLibDir(version = KAFKA_VERSION): string {
  return path.join(CACHE_DIR, `kafka-${version}`, 'libs');
}

/** Fetches the broker jars from Maven Central once per version; later calls are instant. */
export function installKafka(version = KAFKA_VERSION): string {
  const libs = kafkaLibDir(version);
  if (existsSync(path.join(libs, '.complete'))) return libs;
  const staging = `${libs}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  console.log(`fetching the Kafka ${version} broker jars with Maven into ${libs}`);
  try {
    execFileSync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        path.join(DEVSTACK_DIR, 'kafka', 'pom.xml'),
        'dependency:copy-dependencies',
        `-Dkafka.version=${version}`,
        '-DincludeScope=runtime',
        `-DoutputDirectory=${staging}`,
      ],
      // Maven 3.8 prints colour resets even when quiet: show its output only when it fails.
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (error) {
    const { stdout = '', stderr = '' } = error as {
      stdout?: Buffer | string;
      stderr?: Buffer | string;
    };
    throw new Error(
      `mvn could not fetch the Kafka ${version} jars:\n${String(stdout)}${String(stderr)}`,
      {
        cause: error,
      },
    );
  }
  writeFileSync(path.join(staging, '.complete'), `${version}\n`);
  rmSync(libs, { recursive: true, force: true });
  mkdirSync(path.dirname(libs), { recursive: true });
  renameSync(staging, libs);
  return libs;
}

export interface KafkaBrokerOptions {
  /** Holds the config, the formatted log dirs and the broker's own log. Kept across restarts. */
  dir: string;
  port: number;
  controllerPort: number;
  heapMb?: number;
  /** The address it listens on and advertises. Default 127.0.0.1. */
  host?: string;
  /** Where the broker's output goes; defaults to kafka.log inside `dir`. */
  logFile?: string;
  startTimeoutMs?: number;
}

export interface KafkaBroker {
  brokers: string;
  child: Child;
  stop(): Promise<void>;
}

function serverProperties(o: KafkaBrokerOptions): string {
  const host = o.host ?? '127.0.0.1';
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${o.controllerPort}`,
    `listeners=PLAINTEXT://${host}:${o.port},CONTROLLER://${host}:${o.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${o.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${path.join(o.dir, 'data')}`,
    'num.partitions=3',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=6',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    // A single-node dev broker: rebalance at once instead of waiting for more members.
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    '',
  ].join('\n');
}

/**
 * A KRaft cluster id: 16 random bytes, URL-safe base64 without padding. One starting with '-'
 * would read as an option to the storage tool, so those are drawn again.
 */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

async function brokerAnswers(brokers: string): Promise<boolean> {
  const admin = new Kafka({
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return true;
  } finally {
    await admin.disconnect();
  }
}

/** Starts a single-node KRaft broker (formatting its storage on first use) and waits for it. */
export async function startKafkaBroker(options: KafkaBrokerOptions): Promise<KafkaBroker> {
  const libs = installKafka();
  mkdirSync(options.dir, { recursive: true });
  const config = path.join(options.dir, 'server.properties');
  writeFileSync(config, serverProperties(options));
  const classpath = `${libs}/*`;
  if (!existsSync(path.join(options.dir, 'data', 'meta.properties'))) {
    execFileSync(
      'java',
      ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', config],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  }
  const heap = options.heapMb ?? 768;
  const logFile = options.logFile ?? path.join(options.dir, 'kafka.log');
  const child = startChild({
    name: 'kafka',
    command: 'java',
    args: [
      `-Xms${Math.min(256, heap)}m`,
      `-Xmx${heap}m`,
      '-XX:+UseG1GC',
      `-Dlog4j2.configurationFile=${path.join(DEVSTACK_DIR, 'kafka', 'log4j2.yaml')}`,
      '-cp',
      classpath,
      'kafka.Kafka',
      config,
    ],
    logFile,
  });
  const brokers = `${options.host ?? '127.0.0.1'}:${options.port}`;
  const stop = () => child.stop(20_000);
  try {
    await Promise.race([
      waitFor(
        `Kafka on ${brokers}`,
        () => brokerAnswers(brokers),
        options.startTimeoutMs ?? 60_000,
        500,
      ),
      child.exited.then((code) => {
        const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
        throw new Error(`Kafka exited (${code}) during start; end of ${logFile}:\n${tail}`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { brokers, child, stop };
}
