// A Site's name is its site id, which events, aggregates and alert thresholds are keyed on. When
// every namespace is watched, two Sites may share a name: the oldest keeps the id and every other
// one is refused, so their simulators and thresholds never mix. The oldest by creationTimestamp
// (then namespace, then uid) is the same answer after every restart of the operator.
import type { KubernetesObject } from '@kubernetes/client-node';
import { REASONS } from './reasons.ts';
import type { Problem } from './status.ts';

function createdMs(site: KubernetesObject): number {
  const created: unknown = site.metadata?.creationTimestamp;
  const ms = created instanceof Date ? created.getTime() : Date.parse(String(created));
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

function olderFirst(a: KubernetesObject, b: KubernetesObject): number {
  return (
    createdMs(a) - createdMs(b) ||
    (a.metadata?.namespace ?? '').localeCompare(b.metadata?.namespace ?? '') ||
    (a.metadata?.uid ?? '').localeCompare(b.metadata?.uid ?? '')
  );
}

/** The Site that holds the site id among Sites of one name (all namespaces). */
export function siteIdHolder<T extends KubernetesObject>(sameName: readonly T[]): T | undefined {
  return [...sameName].sort(olderFirst)[0];
}

/** DuplicateSiteId when another Site of this name holds the id; undefined when this one does. */
export function duplicateSiteId(
  site: KubernetesObject,
  sameName: readonly KubernetesObject[],
): Problem | undefined {
  const holder = siteIdHolder(sameName);
  if (!holder || holder.metadata?.uid === site.metadata?.uid) return undefined;
  const name = site.metadata?.name ?? '';
  return {
    reason: REASONS.DuplicateSiteId,
    message: `site id ${name} is already used by the Site ${name} in namespace ${holder.metadata?.namespace ?? ''} (created earlier); a Site's name is its site id across all namespaces: rename this Site`,
  };
}
