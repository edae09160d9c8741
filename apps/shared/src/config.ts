import { Type, type Static, type TObject, type TProperties, type TSchema } from '@sinclair/typebox';
import { Ajv } from 'ajv';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads a typed config object from environment variables, once, at startup.
 * Property names are the variable names; values are coerced and defaults filled in.
 */
export function readConfig<T extends TObject>(
  schema: T,
  env: NodeJS.ProcessEnv = process.env,
): Static<T> {
  const ajv = new Ajv({ coerceTypes: 'array', useDefaults: true, allErrors: true, strict: false });
  const candidate: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const raw = env[key];
    if (raw !== undefined && raw !== '') candidate[key] = raw;
  }
  const validate = ajv.compile<Static<T>>(schema);
  if (!validate(candidate)) {
    const problems = (validate.errors ?? []).map((e) => {
      const key = e.instancePath.replace(/^\//, '') || String(e.params.missingProperty ?? '');
      const allowed =
        e.keyword === 'enum' ? `: ${(e.params.allowedValues as unknown[]).join(', ')}` : '';
      return `${key} ${e.message ?? 'is invalid'}${allowed} (got ${JSON.stringify(candidate[key])})`;
    });
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return candidate;
}

/** The `--help` text: every variable with its default, straight from the schema. */
export function describeEnv(properties: Record<string, TSchema>): string {
  const lines = Object.entries(properties).map(([name, schema]) => {
    const fallback = schema.default === undefined ? '(unset)' : JSON.stringify(schema.default);
    const note = typeof schema.description === 'string' ? `  ${schema.description}` : '';
    return `  ${name.padEnd(28)} default ${fallback}${note}`;
  });
  return `Environment variables:\n${lines.join('\n')}\n`;
}

/** A comma-separated list in one variable, e.g. KAFKA_BROKERS=a:9092,b:9092. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const port = (defaultPort: number) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: defaultPort });

/** Settings every long-running app shares; apps spread these into their own schema. */
export const commonEnv = {
  // A plain `enum`, not a union of literals: a bad value then fails with one line, not eight.
  LOG_LEVEL: Type.Unsafe<(typeof LOG_LEVELS)[number]>({
    type: 'string',
    enum: [...LOG_LEVELS],
    default: 'info',
  }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 25_000 }),
} satisfies TProperties;

export const kafkaEnv = {
  KAFKA_BROKERS: Type.String({ minLength: 1, default: '127.0.0.1:19092' }),
  KAFKA_CLIENT_ID: Type.Optional(Type.String({ minLength: 1 })),
} satisfies TProperties;

export const databaseEnv = {
  DATABASE_URL: Type.String({
    minLength: 1,
    default: 'postgres://telemetry:telemetry@127.0.0.1:55432/telemetry',
  }),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
} satisfies TProperties;

/** How long an app (or the migration command) waits at start for PostgreSQL and Kafka. */
export const startupEnv = {
  STARTUP_WAIT_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 3600,
    default: 120,
    description:
      'how long to wait at start for PostgreSQL / Kafka to accept connections, retrying with backoff; 0: fail at the first refusal',
  }),
} satisfies TProperties;

/** The wait's bound in the form waitForDependency takes. */
export function startupWait(config: { STARTUP_WAIT_SECONDS: number }): {
  timeoutMs: number;
  timeoutSetting: string;
} {
  return { timeoutMs: config.STARTUP_WAIT_SECONDS * 1000, timeoutSetting: 'STARTUP_WAIT_SECONDS' };
}

export const opsEnv = (defaultPort: number) =>
  ({
    HTTP_HOST: Type.String({ default: '0.0.0.0' }),
    HTTP_PORT: port(defaultPort),
  }) satisfies TProperties;
