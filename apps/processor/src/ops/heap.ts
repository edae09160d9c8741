import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow, past what survived the last full collection, before
 * it collects again. V8 derives that from the heap's bound: little more than 30 % under the pod's
 * memory limit (768Mi, so a 384 MiB old generation), 300 % only with a bound as large as V8's
 * default for the machine's memory (some 4 GiB here, outside a container). A replica draining at
 * full speed keeps some 20,000 events waiting, which all reach the old generation before they
 * die, so under the pod's bound it ran full collections several times a second and spent about a
 * third of its CPU on them. The flag is V8's own: NODE_OPTIONS does not pass it, and V8 reads it
 * at every collection, so it is set here, before any work. 0 leaves V8's choice.
 * docs/performance.md, "Memory", has the measurements.
 */
export function setHeapGrowing(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
