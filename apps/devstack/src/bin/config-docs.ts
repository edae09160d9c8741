// `make docs` (`npm run docs`): renders the environment-variable tables of docs/configuration.md
// from the apps' config schemas. --write updates the file; --check exits 1 when it is stale;
// with neither, prints the document.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_DOC, CONFIG_SECTIONS, renderConfigDoc } from '../docs/app-configs.ts';
import { undescribedVariables } from '../docs/config-docs.ts';
import { REPO_ROOT } from '../paths.ts';

const undescribed = undescribedVariables(CONFIG_SECTIONS);
if (undescribed.length > 0) {
  process.stderr.write(
    `every variable needs a description in its schema; missing:\n  ${undescribed.join('\n  ')}\n`,
  );
  process.exit(1);
}

const where = path.relative(REPO_ROOT, CONFIG_DOC);
const current = readFileSync(CONFIG_DOC, 'utf8');
const expected = await renderConfigDoc(current);
if (process.argv.includes('--write')) {
  if (expected === current) {
    process.stdout.write(`${where} is up to date\n`);
  } else {
    writeFileSync(CONFIG_DOC, expected);
    process.stdout.write(`wrote ${where}\n`);
  }
} else if (process.argv.includes('--check')) {
  if (expected !== current) {
    process.stderr.write(`${where} differs from the config schemas: run make docs\n`);
    process.exit(1);
  }
  process.stdout.write(`${where} is up to date\n`);
} else {
  process.stdout.write(expected);
}
