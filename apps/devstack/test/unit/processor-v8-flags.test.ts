// The processor's V8 flags are written three times, in languages that cannot share a constant:
// the chart's NODE_OPTIONS, `make up`'s supervisor and the bench that measures them. In the pod,
// Node bounds the old generation at half the container's memory limit by itself (a 768Mi cgroup:
// heap_size_limit 432 MiB, 384 of them old generation, measured); make up and the bench run
// outside such a limit, so they write that bound out for the chart's default limit.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../src/paths.ts';
import { PROCESSOR_V8_FLAGS } from '../../src/stack/supervisor.ts';

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');
const OLD_SPACE = /\s*--max-old-space-size=(\d+)/;

describe("the processor's V8 flags", () => {
  const chart = /name: NODE_OPTIONS\s+value: ([^{\n]+)/
    .exec(read('charts/telemetrypulse/templates/processor/deployment.yaml'))?.[1]
    ?.trim();
  const bench = /PROCESSOR_NODE_OPTIONS = '([^']+)'/.exec(
    read('apps/processor/bench/replica.ts'),
  )?.[1];
  const makeUp = PROCESSOR_V8_FLAGS.join(' ');

  it('when the chart, make up and the bench start the processor, then they give it the same flags', () => {
    assert.equal(bench, makeUp);
    assert.equal(
      makeUp.replace(OLD_SPACE, ''),
      chart,
      'the chart leaves the old generation to Node',
    );
    assert.match(makeUp, /--max-semi-space-size=\d+/, 'the young generation is bounded');
  });

  it("when make up and the bench run outside a pod, then they bound the old generation as Node does under the chart's memory limit", () => {
    const values = parse(read('charts/telemetrypulse/values.yaml')) as {
      processor: { resources: { limits: { memory: string } } };
    };
    const limit = /^(\d+)Mi$/.exec(values.processor.resources.limits.memory);
    const bound = OLD_SPACE.exec(makeUp);
    assert.ok(limit && bound, 'a limit in Mi and a bound in the flags');
    assert.equal(Number(bound[1]), Number(limit[1]) / 2);
  });
});
