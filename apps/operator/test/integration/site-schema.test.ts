import assert from 'node:assert/strict';
import { parseSite, SITE_API_VERSION, SITE_KIND } from '@telemetrypulse/shared';
import {
  createTestNamespace,
  TESTBED_START_TIMEOUT_MS,
  type TestNamespace,
  useTestbed,
} from '@telemetrypulse/devstack/test/kube';
import { errorMessage, statusCode } from '../../src/runtime/kube.ts';
import { SPEC_EXAMPLES } from '../site-examples.ts';
import { installSiteCrd, SiteClient } from './kube.ts';

describe('Site CRD on a real API server', function () {
  let namespace: TestNamespace | undefined;
  let sites: SiteClient;

  before(async function () {
    this.timeout(TESTBED_START_TIMEOUT_MS);
    const testbed = await useTestbed();
    await installSiteCrd(testbed.kubeConfig());
    const created = await createTestNamespace(testbed, 'site-schema');
    namespace = created;
    sites = new SiteClient(testbed.kubeConfig(), created.name);
  });

  after(async () => {
    await namespace?.delete();
  });

  /** 'accepted', or the API server's reason for refusing the Site. */
  async function verdict(name: string, spec: Record<string, unknown>): Promise<string> {
    try {
      await sites.create(name, spec, true);
      return 'accepted';
    } catch (error) {
      assert.equal(statusCode(error), 422, errorMessage(error));
      return errorMessage(error);
    }
  }

  it('when a Site violates the schema, then the API server rejects it; the contract judges each spec alike', async () => {
    for (const example of SPEC_EXAMPLES) {
      const answer = await verdict('hq', example.spec);
      const expected = example.valid || example.serverOnlyAccepts === true;
      assert.equal(answer === 'accepted', expected, `${example.what}: ${answer}`);
    }
  });

  it('when a Site is accepted, then the server fills in the same defaults as the contract', async () => {
    const stored = await sites.create('defaults', {});
    const contract = parseSite({
      apiVersion: SITE_API_VERSION,
      kind: SITE_KIND,
      metadata: { name: 'defaults' },
      spec: {},
    });
    assert.deepEqual(stored.spec, contract.spec);
    await sites.delete('defaults');
  });

  it('when a Site name is not a DNS label, then the API server rejects it', async () => {
    const answer = await verdict('hq.north', {});
    assert.match(answer, /a Site name must be a DNS label/);
  });

  it('when fields are unknown, then the server drops them (pruning) instead of storing them', async () => {
    const stored = await sites.create('pruned', { zones: 2, colour: 'blue' });
    assert.deepEqual(Object.keys(stored.spec as object).includes('colour'), false);
    await sites.delete('pruned');
  });
});
