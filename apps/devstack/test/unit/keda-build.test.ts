import assert from 'node:assert/strict';
import { applyJsonPatch } from '../../src/keda/manifests.ts';
import { throwawayGoMod } from '../../src/kube/throwaway-module.ts';
import { publishedReplacements } from '../../src/tools/keda.ts';

// Shaped like github.com/kedacore/keda/v2 v2.21.0's go.mod.
const KEDA_GO_MOD = `module github.com/kedacore/keda/v2

go 1.26.0

// Needed replaces
replace github.com/nexus-rpc/nexus-proto-annotations v0.1.0 => github.com/nexus-rpc/nexus-proto-annotations v0.1.1-0.20260629224316-835bd8d49cb4

exclude github.com/go-chi/chi/v5 v5.2.3

require (
	cloud.google.com/go/compute/metadata v0.9.1
)

replace (
	example.com/local => ./local
	example.com/pinned => example.com/pinned v1.2.3 // a comment
)
`;

describe('KEDA build', () => {
  it('when its go.mod replaces a module with a published version, then the throwaway module repeats it', () => {
    const replacements = publishedReplacements(KEDA_GO_MOD);
    assert.deepEqual(replacements, {
      'github.com/nexus-rpc/nexus-proto-annotations': 'v0.1.1-0.20260629224316-835bd8d49cb4',
      'example.com/pinned': 'v1.2.3',
    });
    const goMod = throwawayGoMod({
      module: 'github.com/kedacore/keda/v2',
      version: 'v2.21.0',
      replacements,
      goVersion: '1.26.0',
    });
    assert.match(
      goMod,
      /\tgithub\.com\/nexus-rpc\/nexus-proto-annotations => github\.com\/nexus-rpc\/nexus-proto-annotations v0\.1\.1-0\.20260629224316-835bd8d49cb4\n/,
    );
  });

  it('when a replace points at another module, then it is refused rather than dropped', () => {
    assert.throws(
      () => publishedReplacements('module m\n\nreplace a.example/x => b.example/x v1.0.0\n'),
      /another module/,
    );
  });

  it("when KEDA's CRD patches add and remove schema parts, then they land at their JSON pointers", () => {
    const crd = { spec: { versions: [{ schema: { properties: { a: {} } } }] } };
    applyJsonPatch(crd, [
      { op: 'add', path: '/spec/versions/0/schema/properties/a/maximum', value: 3600 },
    ]);
    assert.deepEqual(crd.spec.versions[0]?.schema.properties.a, { maximum: 3600 });
    const schema = { required: ['name'], properties: { metricType: {}, name: {} } };
    applyJsonPatch(schema, [
      { op: 'add', path: '/required/-', value: 'protocol' },
      { op: 'remove', path: '/properties/metricType' },
    ]);
    assert.deepEqual(schema, { required: ['name', 'protocol'], properties: { name: {} } });
    assert.throws(() => {
      applyJsonPatch(crd, [{ op: 'add', path: '/spec/missing/x', value: 1 }]);
    }, /does not exist/);
  });
});
