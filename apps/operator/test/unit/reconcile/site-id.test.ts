import assert from 'node:assert/strict';
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment --
   client-node's models are plain data to its serializer; tests build them as literals. */
import type { KubernetesObject } from '@kubernetes/client-node';
import { REASONS } from '../../../src/reconcile/reasons.ts';
import { duplicateSiteId, siteIdHolder } from '../../../src/reconcile/site-id.ts';

function site(namespace: string, uid: string, created: string): KubernetesObject {
  return {
    metadata: { name: 'hq', namespace, uid, creationTimestamp: created as unknown as Date },
  };
}

describe('site id ownership across namespaces', () => {
  it('when two Sites share a name, then the older holds the site id and the other is refused naming its namespace', () => {
    const older = site('zeta', 'u1', '2025-01-01T00:00:00Z');
    const newer = site('alpha', 'u2', '2025-01-01T00:00:05Z');
    assert.equal(siteIdHolder([newer, older]), older);
    assert.equal(duplicateSiteId(older, [newer, older]), undefined);
    const refused = duplicateSiteId(newer, [newer, older]);
    assert.equal(refused?.reason, REASONS.DuplicateSiteId);
    assert.match(refused.message, /already used by the Site hq in namespace zeta/);
  });

  it('when two Sites of one name were created in the same second, then the namespace decides, whatever the order seen', () => {
    const a = site('alpha', 'u9', '2025-01-01T00:00:00Z');
    const b = site('beta', 'u1', '2025-01-01T00:00:00Z');
    assert.equal(siteIdHolder([a, b]), a);
    assert.equal(siteIdHolder([b, a]), a);
  });

  it('when a Site is alone with its name, then it holds the site id', () => {
    const only = site('alpha', 'u1', '2025-01-01T00:00:00Z');
    assert.equal(duplicateSiteId(only, [only]), undefined);
  });
});
