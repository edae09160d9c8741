import assert from 'node:assert/strict';
import { ConfigError } from '@telemetrypulse/shared';
import { formatSummary, parseReplayCommand, replayHelp } from '../../src/replay/cli.ts';

describe('parseReplayCommand', () => {
  it('when nothing is given, then it replays the whole DLQ to the events topic under the replay group', () => {
    const command = parseReplayCommand([], {});
    assert.deepEqual(command, {
      help: false,
      brokers: '127.0.0.1:19092',
      clientId: 'dlq-replay',
      logLevel: 'info',
      from: 'telemetry.dlq',
      to: 'telemetry.events',
      groupId: 'telemetry-dlq-replay',
      dryRun: false,
      reason: undefined,
      limit: undefined,
    });
  });

  it('when flags and environment both name a topic, then the flag wins', () => {
    const env = { DLQ_TOPIC: 'env.dlq', EVENTS_TOPIC: 'env.events', DLQ_REPLAY_GROUP: 'env-g' };
    assert.deepEqual(
      (({ from, to, groupId }) => ({ from, to, groupId }))(parseReplayCommand([], env)),
      { from: 'env.dlq', to: 'env.events', groupId: 'env-g' },
    );
    const command = parseReplayCommand(
      ['--from', 'a.dlq', '--to', 'a.events', '--group', 'g2'],
      env,
    );
    assert.deepEqual([command.from, command.to, command.groupId], ['a.dlq', 'a.events', 'g2']);
  });

  it('when --dry-run, --reason and --limit are given, then they are parsed, the reason case-insensitively', () => {
    const command = parseReplayCommand(
      ['--dry-run', '--reason', 'out of RANGE|json', '--limit=25'],
      {},
    );
    assert.equal(command.dryRun, true);
    assert.equal(command.limit, 25);
    const reason = command.reason!;
    assert.equal(reason.test('value 9 out of range for co2'), true);
    assert.equal(reason.test('malformed JSON: x'), true);
    assert.equal(reason.test('missing field value'), false);
  });

  it('when an option is wrong, then a ConfigError says which and why', () => {
    const cases: [string[], RegExp][] = [
      [['--limit', '0'], /--limit must be a whole number of at least 1 \(got 0\)/],
      [['--limit', 'ten'], /--limit must be a whole number/],
      [['--limit', '1.5'], /--limit must be a whole number/],
      [['--reason', '('], /--reason is not a regular expression/],
      [['--from', 'same', '--to', 'same'], /would loop/],
      [['--from', ' '], /--from needs a value/],
      [['--bogus'], /Unknown option '--bogus'/],
      [['extra'], /positional argument/],
    ];
    for (const [args, message] of cases) {
      assert.throws(
        () => parseReplayCommand(args, {}),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, args.join(' '));
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });

  it('when an environment variable is invalid, then the error names it', () => {
    assert.throws(() => parseReplayCommand([], { LOG_LEVEL: 'loud' }), /LOG_LEVEL/);
  });

  it('when help is asked for, then every option and variable is described', () => {
    const help = replayHelp();
    for (const word of ['--from', '--to', '--group', '--reason', '--limit', '--dry-run']) {
      assert.match(help, new RegExp(word));
    }
    for (const variable of ['KAFKA_BROKERS', 'DLQ_TOPIC', 'EVENTS_TOPIC', 'DLQ_REPLAY_GROUP']) {
      assert.match(help, new RegExp(variable));
    }
  });
});

describe('formatSummary', () => {
  const command = parseReplayCommand(['--dry-run'], {});

  it('when a dry run counted letters, then the summary says nothing was published and lists reasons, most frequent first', () => {
    const text = formatSummary(
      {
        dryRun: true,
        stoppedBy: 'end',
        read: 5,
        selected: 4,
        notSelected: 0,
        unreadable: 1,
        incomplete: 0,
        byReason: {
          unreadable: { read: 1, selected: 0, example: 'not a JSON dead-letter record' },
          malformed_json: { read: 4, selected: 4, example: 'malformed JSON: x' },
        },
      },
      command,
    );
    const lines = text.trimEnd().split('\n');
    assert.match(
      lines[0]!,
      /telemetry\.dlq → telemetry\.events .*DRY RUN: nothing published or committed/,
    );
    assert.match(
      lines[1]!,
      /read 5, would replay 4, not selected 0, unreadable 1, incomplete \(not replayable\) 0; stopped: end of topic/,
    );
    assert.match(lines[3]!, /^malformed_json +4 +4 +malformed JSON: x$/);
    assert.match(lines[4]!, /^unreadable +1 +0 +not a JSON dead-letter record$/);
  });

  it('when nothing was there, then the summary is the counts alone', () => {
    const text = formatSummary(
      {
        dryRun: false,
        stoppedBy: 'end',
        read: 0,
        selected: 0,
        notSelected: 0,
        unreadable: 0,
        incomplete: 0,
        byReason: {},
      },
      command,
    );
    assert.equal(text.trimEnd().split('\n').length, 2);
    assert.match(text, /replayed 0/);
  });
});
