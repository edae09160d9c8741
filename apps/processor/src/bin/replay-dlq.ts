#!/usr/bin/env node
// `npm run dlq:replay`: republishes dead letters to the events topic after a fix, then exits.
import {
  ConfigError,
  createKafka,
  createLogger,
  exitOnStartupFailure,
} from '@telemetrypulse/shared';
import { formatSummary, parseReplayCommand, replayHelp } from '../replay/cli.ts';
import { replayDeadLetters } from '../replay/run.ts';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(replayHelp());
} else {
  try {
    const command = parseReplayCommand(args);
    const logger = createLogger('dlq-replay', command.logLevel);
    // Ctrl-C or SIGTERM: the batch in hand is published and committed, then the run stops.
    const abort = new AbortController();
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        abort.abort();
      });
    }
    const summary = await replayDeadLetters({
      kafka: createKafka({ brokers: command.brokers, clientId: command.clientId, logger }),
      from: command.from,
      to: command.to,
      groupId: command.groupId,
      dryRun: command.dryRun,
      reason: command.reason,
      limit: command.limit,
      logger,
      signal: abort.signal,
    });
    process.stdout.write(formatSummary(summary, command));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`dlq:replay: ${error.message}\nTry --help.\n`);
      process.exit(2);
    }
    exitOnStartupFailure(createLogger('dlq-replay'))(error);
  }
}
