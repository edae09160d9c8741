// Every program's config schema, for docs/configuration.md. The one place where code reads other
// apps' source by path: the schemas are internals of each app, not part of any package's exports.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as prettier from 'prettier';
import { MigrateEnv } from '@telemetrypulse/shared';
import { ApiConfigSchema } from '../../../api/src/config.ts';
import { OperatorEnv } from '../../../operator/src/config.ts';
import { ProcessorEnv } from '../../../processor/src/config.ts';
import { ReplayEnv } from '../../../processor/src/replay/cli.ts';
import { SimulatorConfigSchema } from '../../../simulator/src/config.ts';
import { REPO_ROOT } from '../paths.ts';
import { renderConfigTables, spliceGenerated, type ConfigSection } from './config-docs.ts';

export const CONFIG_DOC = path.join(REPO_ROOT, 'docs', 'configuration.md');

const NODE = 'node_modules/.bin/node';

export const CONFIG_SECTIONS: readonly ConfigSection[] = [
  {
    title: 'processor',
    command: `${NODE} apps/processor/src/main.ts`,
    about: 'Kafka events → PostgreSQL (raw rows, window aggregates, alerts), rejects → DLQ.',
    schema: ProcessorEnv,
  },
  {
    title: 'api',
    command: `${NODE} apps/api/src/main.ts`,
    about: 'The HTTP API ([api.md](api.md)).',
    schema: ApiConfigSchema,
  },
  {
    title: 'simulator',
    command: `${NODE} apps/simulator/src/main.ts`,
    about:
      "One site's sensors → Kafka. The operator and `make up` set the site variables from a Site.",
    schema: SimulatorConfigSchema,
  },
  {
    title: 'operator',
    command: `${NODE} apps/operator/src/main.ts`,
    about: 'Site resources → simulator Deployments ([operator.md](operator.md)).',
    schema: OperatorEnv,
  },
  {
    title: 'migrate',
    command: `${NODE} apps/shared/src/bin/migrate.ts`,
    about:
      "The migration command: `make migrate`, `npm run migrate`, the `telemetrypulse-migrate` bin, the chart's Job.",
    schema: MigrateEnv,
  },
  {
    title: 'dlq:replay',
    command: 'npm run dlq:replay --',
    about:
      'Republishes dead letters after a fix ([operations.md](operations.md#replaying-the-dead-letter-topic)); a flag wins over its variable.',
    schema: ReplayEnv,
  },
];

/** docs/configuration.md as `make docs` writes it: `current` with fresh tables, formatted. */
export async function renderConfigDoc(current: string = readFileSync(CONFIG_DOC, 'utf8')) {
  const text = spliceGenerated(current, renderConfigTables(CONFIG_SECTIONS, REPO_ROOT));
  const options = (await prettier.resolveConfig(CONFIG_DOC)) ?? {};
  return prettier.format(text, { ...options, filepath: CONFIG_DOC });
}
