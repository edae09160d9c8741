import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HEAP_MODULE = new URL('../../src/ops/heap.ts', import.meta.url).href;

/**
 * Full collections of a process shaped like a replica draining: some 60 MiB that stay, and
 * objects that live long enough to reach the old generation and then die, under the pod's heap
 * bound. A count, not a duration: the same work either way.
 */
async function majorCollections(percent: number): Promise<number> {
  const script = `
    import { constants, PerformanceObserver } from 'node:perf_hooks';
    const { setHeapGrowing } = await import(${JSON.stringify(HEAP_MODULE)});
    setHeapGrowing(${percent});
    let major = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
    }).observe({ entryTypes: ['gc'] });
    const kept = Array.from({ length: 600_000 }, (_, i) => ({ id: 'kept-' + i, n: i }));
    const waiting = new Array(200_000);
    for (let i = 0; i < 6_000_000; i++) waiting[i % waiting.length] = { id: 'event-' + i, n: i };
    setTimeout(() => console.log(JSON.stringify({ major, kept: kept.length })), 50);
  `;
  const { stdout } = await run(process.execPath, [
    '--max-old-space-size=384',
    '--max-semi-space-size=8',
    '--input-type=module',
    '--eval',
    script,
  ]);
  return (JSON.parse(stdout) as { major: number }).major;
}

describe('setHeapGrowing', () => {
  it("when the heap may grow further between collections, then a bounded heap's full collections are fewer", async function () {
    this.timeout(60_000);
    const own = await majorCollections(0);
    const doubled = await majorCollections(100);
    assert.ok(own > 0, 'the workload reaches the old generation');
    assert.ok(
      doubled < own * 0.8,
      `full collections: ${doubled} at 100 %, ${own} with V8's choice`,
    );
  });
});
