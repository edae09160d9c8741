// The CRD as the chart holds it: generated YAML behind a header that says so.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dumpYaml, loadYaml } from '@kubernetes/client-node';
import { siteCrd } from './crd.ts';

export const CRD_FILE = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../charts/telemetrypulse/crds/site.yaml',
);

export function crdYaml(): string {
  return (
    '# Generated from the Site contract (apps/shared/src/contract/site.ts) by\n' +
    '# `node apps/operator/src/bin/crd.ts --write`; edit the contract, not this file.\n' +
    // JSON is YAML: through the client's model and back, so the file reads as kubectl writes it.
    dumpYaml(loadYaml(JSON.stringify(siteCrd())), { lineWidth: -1, noRefs: true })
  );
}
