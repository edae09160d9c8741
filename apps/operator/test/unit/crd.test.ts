import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseSite, SITE_API_VERSION, SITE_KIND } from '@telemetrypulse/shared';
import { loadAllYaml } from '@kubernetes/client-node';
import { crdYaml, CRD_FILE } from '../../src/crd-file.ts';
import { siteCrd, type JsonNode } from '../../src/crd.ts';
import { createJsonSchemaValidator } from '@telemetrypulse/shared/json-schema';
import { SPEC_EXAMPLES } from '../site-examples.ts';

/** Every schema node under `node`, with its path. */
function* nodes(node: JsonNode, path = ''): Generator<[string, JsonNode]> {
  yield [path, node];
  if (node.items) yield* nodes(node.items as JsonNode, `${path}[]`);
  for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, JsonNode>)) {
    yield* nodes(child, `${path}.${name}`);
  }
}

function specSchema(): JsonNode {
  const crd = siteCrd() as { spec: { versions: { schema: { openAPIV3Schema: JsonNode } }[] } };
  const root = crd.spec.versions[0]!.schema.openAPIV3Schema;
  return (root.properties as Record<string, JsonNode>).spec!;
}

/** The CRD's OpenAPI 3.0 schema read back as JSON schema, to check specs offline with ajv. */
function asJsonSchema(node: JsonNode): JsonNode {
  if (node['x-kubernetes-preserve-unknown-fields'] === true && !node.type) return {};
  const out: JsonNode = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-kubernetes-') || key === 'description') continue;
    if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonNode>).map(([k, v]) => [k, asJsonSchema(v)]),
      );
    } else if (key === 'items') {
      out.items = asJsonSchema(value as JsonNode);
    } else if (key === 'exclusiveMinimum') {
      out.exclusiveMinimum = node.minimum;
    } else if (key === 'minimum' && node.exclusiveMinimum === true) {
      continue;
    } else if (key === 'required') {
      // The API server fills in defaults before it validates: a defaulted field is never missing.
      const properties = (node.properties ?? {}) as Record<string, JsonNode>;
      out.required = (value as string[]).filter((name) => properties[name]?.default === undefined);
    } else {
      out[key] = value;
    }
  }
  if (node['x-kubernetes-list-type'] === 'set') out.uniqueItems = true;
  return out;
}

describe('operator Site CRD', () => {
  it('when the contract changes, then the chart must hold the regenerated CRD', () => {
    assert.equal(
      readFileSync(CRD_FILE, 'utf8'),
      crdYaml(),
      `${CRD_FILE} is stale: run node apps/operator/src/bin/crd.ts --write`,
    );
  });

  it('when the spec schema is built, then it is structural: every node typed, no forbidden keywords', () => {
    for (const [path, node] of nodes(specSchema(), 'spec')) {
      for (const forbidden of ['uniqueItems', 'additionalProperties', '$id', 'anyOf']) {
        if (forbidden === 'anyOf' && node['x-kubernetes-int-or-string'] === true) continue;
        assert.equal(node[forbidden], undefined, `${path} has ${forbidden}`);
      }
      const escaped =
        node['x-kubernetes-int-or-string'] === true ||
        node['x-kubernetes-preserve-unknown-fields'] === true;
      assert.ok(typeof node.type === 'string' || escaped, `${path} has no type`);
      if (node.exclusiveMinimum !== undefined)
        assert.equal(typeof node.exclusiveMinimum, 'boolean');
    }
  });

  it('when a spec is judged by the CRD schema and by parseSite, then both agree', () => {
    const ajv = createJsonSchemaValidator();
    const check = ajv.compile(asJsonSchema(specSchema()));
    for (const example of SPEC_EXAMPLES) {
      let contract = true;
      try {
        parseSite({
          apiVersion: SITE_API_VERSION,
          kind: SITE_KIND,
          metadata: { name: 'hq' },
          spec: example.spec,
        });
      } catch {
        contract = false;
      }
      const crd = check(structuredClone(example.spec));
      assert.equal(contract, example.valid, `parseSite on ${example.what}`);
      assert.equal(
        crd,
        example.valid || example.serverOnlyAccepts === true,
        `CRD on ${example.what}`,
      );
    }
  });

  it('when the example Sites are read, then each one is valid for the contract and the CRD', () => {
    const ajv = createJsonSchemaValidator();
    const check = ajv.compile(asJsonSchema(specSchema()));
    const files = ['k8s/examples/sites.yaml', 'k8s/examples/more/site-lab.yaml'];
    let count = 0;
    for (const file of files) {
      for (const resource of loadAllYaml(readFileSync(file, 'utf8')) as { spec: unknown }[]) {
        parseSite(resource);
        assert.ok(check(resource.spec), `${file}: ${ajv.errorsText(check.errors)}`);
        count += 1;
      }
    }
    assert.equal(count, 5);
  });
});
