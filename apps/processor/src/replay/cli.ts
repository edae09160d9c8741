// The command line of `npm run dlq:replay`: flags over environment, help text, the printed summary.
import { parseArgs } from 'node:util';
import { Type } from '@sinclair/typebox';
import {
  commonEnv,
  ConfigError,
  describeEnv,
  kafkaEnv,
  readConfig,
  TOPICS,
} from '@telemetrypulse/shared';
import { REPLAY_GROUP, type ReplaySummary } from './run.ts';

export const ReplayEnv = Type.Object({
  LOG_LEVEL: commonEnv.LOG_LEVEL,
  ...kafkaEnv,
  DLQ_TOPIC: Type.String({
    minLength: 1,
    default: TOPICS.dlq,
    description: 'dead-letter topic to read (--from)',
  }),
  EVENTS_TOPIC: Type.String({
    minLength: 1,
    default: TOPICS.events,
    description: 'topic the dead letters are republished to (--to)',
  }),
  DLQ_REPLAY_GROUP: Type.String({
    minLength: 1,
    default: REPLAY_GROUP,
    description: 'consumer group that remembers how far replays got (--group)',
  }),
});

export interface ReplayCommand {
  help: boolean;
  brokers: string;
  clientId: string;
  logLevel: string;
  from: string;
  to: string;
  groupId: string;
  dryRun: boolean;
  reason: RegExp | undefined;
  limit: number | undefined;
}

export const REPLAY_USAGE = `Usage: npm run dlq:replay -- [options]

Republishes dead letters (their original bytes and key) to the events topic, from where the
last run stopped up to the end of the dead-letter topic as it is when the run starts, then exits.
Offsets are committed under the replay consumer group after each published batch, so a message
is replayed once across runs. Messages --reason does not select are passed over for good (a
fresh --group starts again from the beginning of the topic). A letter marked truncated (its
original was cut to the processor's DLQ_MAX_PAYLOAD_BYTES, or left out because the broker refused
it) does not hold the whole message: it is counted as incomplete and not replayed; its
original_size and original_sha256 identify the original wherever it is still kept.

Options (a flag wins over its environment variable):
  --from <topic>     dead-letter topic to read      [DLQ_TOPIC, default ${TOPICS.dlq}]
  --to <topic>       topic to republish to          [EVENTS_TOPIC, default ${TOPICS.events}]
  --group <id>       group that remembers progress  [DLQ_REPLAY_GROUP, default ${REPLAY_GROUP}]
  --reason <regex>   only dead letters whose reason matches (case-insensitive)
  --limit <n>        replay at most n messages; the rest stay for the next run
  --dry-run          count what would be replayed, by reason; publish and commit nothing
  --help             this text
`;

/** Reads flags over environment variables; throws ConfigError with what is wrong. */
export function parseReplayCommand(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ReplayCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        group: { type: 'string' },
        reason: { type: 'string' },
        limit: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const flags = parsed.values;
  const config = readConfig(ReplayEnv, env);
  const command: ReplayCommand = {
    help: flags.help,
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID ?? 'dlq-replay',
    logLevel: config.LOG_LEVEL,
    from: nonEmpty('--from', flags.from) ?? config.DLQ_TOPIC,
    to: nonEmpty('--to', flags.to) ?? config.EVENTS_TOPIC,
    groupId: nonEmpty('--group', flags.group) ?? config.DLQ_REPLAY_GROUP,
    dryRun: flags['dry-run'],
    reason: flags.reason === undefined ? undefined : regex(flags.reason),
    limit: flags.limit === undefined ? undefined : positiveInteger('--limit', flags.limit),
  };
  if (command.from === command.to) {
    throw new ConfigError(`--from and --to are both ${command.from}: that would loop`);
  }
  return command;
}

function nonEmpty(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '') throw new ConfigError(`${flag} needs a value`);
  return value;
}

function regex(source: string): RegExp {
  try {
    return new RegExp(source, 'i');
  } catch (error) {
    throw new ConfigError(`--reason is not a regular expression: ${(error as Error).message}`);
  }
}

function positiveInteger(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new ConfigError(`${flag} must be a whole number of at least 1 (got ${text})`);
  }
  return n;
}

export function replayHelp(): string {
  return `${REPLAY_USAGE}\n${describeEnv(ReplayEnv.properties)}`;
}

/** What the operator reads at the end of a run. */
export function formatSummary(summary: ReplaySummary, command: ReplayCommand): string {
  const verb = summary.dryRun ? 'would replay' : 'replayed';
  const stop = { end: 'end of topic', limit: '--limit reached', signal: 'interrupted' }[
    summary.stoppedBy
  ];
  const lines = [
    `${command.from} → ${command.to} (group ${command.groupId})${summary.dryRun ? ', DRY RUN: nothing published or committed' : ''}`,
    `read ${summary.read}, ${verb} ${summary.selected}, not selected ${summary.notSelected}, unreadable ${summary.unreadable}, incomplete (not replayable) ${summary.incomplete}; stopped: ${stop}`,
  ];
  const reasons = Object.entries(summary.byReason).sort(([, a], [, b]) => b.read - a.read);
  if (reasons.length > 0) {
    lines.push(`${'reason'.padEnd(16)} ${'read'.padStart(8)} ${verb.padStart(12)}  example`);
    for (const [label, count] of reasons) {
      const example =
        count.example.length > 80 ? `${count.example.slice(0, 77)}...` : count.example;
      lines.push(
        `${label.padEnd(16)} ${String(count.read).padStart(8)} ${String(count.selected).padStart(12)}  ${example}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
