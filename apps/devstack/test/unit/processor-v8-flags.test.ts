// The processor's V8 flags are written three times, in languages that cannot share a constant:
// the chart's NODE_OPTIONS, `make up`'s supervisor and the bench that measures them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../src/paths.ts';
import { PROCESSOR_V8_FLAGS } from '../../src/stack/supervisor.ts';

const read = (file: string) => readFileSync(path.join(REPO_ROOT, file), 'utf8');

describe("the processor's V8 flags", () => {
  it('when the chart, make up and the bench start the processor, then they give it the same flags', () => {
    const chart = /name: NODE_OPTIONS\s+value: ([^{\n]+)/.exec(
      read('charts/telemetrypulse/templates/processor/deployment.yaml'),
    );
    const bench = /PROCESSOR_NODE_OPTIONS = '([^']+)'/.exec(
      read('apps/processor/bench/replica.ts'),
    );
    const expected = PROCESSOR_V8_FLAGS.join(' ');
    assert.equal(chart?.[1]?.trim(), expected);
    assert.equal(bench?.[1], expected);
    assert.match(expected, /--max-semi-space-size=\d+/, 'the young generation is bounded');
    assert.match(expected, /--max-old-space-size=\d+/, 'the old generation is bounded');
  });

  it("when the chart limits the processor's memory, then the old generation's bound is the one Node derives from that limit", () => {
    // Node gives V8 half of a container's memory limit for the old generation (a 768Mi cgroup:
    // heap_size_limit 432 MiB, 384 of them old generation, measured). The flag writes that out
    // so that make up and the bench, run outside such a limit, get the pod's heap.
    const values = parse(read('charts/telemetrypulse/values.yaml')) as {
      processor: { resources: { limits: { memory: string } } };
    };
    const limit = /^(\d+)Mi$/.exec(values.processor.resources.limits.memory);
    const bound = /--max-old-space-size=(\d+)/.exec(PROCESSOR_V8_FLAGS.join(' '));
    assert.ok(limit && bound, 'a limit in Mi and a bound in the flags');
    assert.equal(Number(bound[1]), Number(limit[1]) / 2);
  });
});
