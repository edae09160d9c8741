// Prints the Site CRD as YAML; `--write` puts it into the chart (charts/telemetrypulse/crds/).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crdYaml, CRD_FILE } from '../crd-file.ts';

const text = crdYaml();
if (process.argv.includes('--write')) {
  mkdirSync(path.dirname(CRD_FILE), { recursive: true });
  writeFileSync(CRD_FILE, text);
  process.stdout.write(`wrote ${CRD_FILE}\n`);
} else {
  process.stdout.write(text);
}
