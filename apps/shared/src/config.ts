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

/**
 * The default a config schema states for one variable, for code that needs it without a loaded
 * config (tests, callers that leave an option out), so the default is written once, in the schema.
 */
export function schemaDefault<P extends TProperties, K extends keyof P & string>(
  schema: { properties: P },
  name: K,
): Static<P[K]> {
  const value: unknown = schema.properties[name]?.default;
  if (value === undefined) throw new Error(`config schema has no default for ${name}`);
  return value;
}

/**
 * What a variable's schema accepts, as a short phrase: its `x-allowed` note when a pattern would
 * say it badly, its enum, its range, its pattern; '' when any value of its type goes. `code`
 * marks up each literal (backticks in markdown).
 */
export function allowedValues(schema: TSchema, code: (text: string) => string = String): string {
  if (typeof schema['x-allowed'] === 'string') return schema['x-allowed'];
  if (Array.isArray(schema.enum)) {
    return (schema.enum as unknown[]).map((value) => code(String(value))).join(', ');
  }
  if (schema.type === 'boolean') return `${code('true')}, ${code('false')}`;
  if (schema.type === 'integer' || schema.type === 'number') {
    const min = schema.minimum as number | undefined;
    const max = schema.maximum as number | undefined;
    const kind = schema.type === 'integer' ? 'integer' : 'number';
    if (min !== undefined && max !== undefined) return `${kind} ${min}–${max}`;
    if (min !== undefined) return `${kind} ≥ ${min}`;
    if (max !== undefined) return `${kind} ≤ ${max}`;
    return kind;
  }
  if (typeof schema.pattern === 'string') return `matches ${code(schema.pattern)}`;
  return '';
}

/** The `--help` text: every variable with its default, what it accepts and what it is for. */
export function describeEnv(properties: Record<string, TSchema>): string {
  const lines = Object.entries(properties).map(([name, schema]) => {
    const fallback = schema.default === undefined ? '(unset)' : JSON.stringify(schema.default);
    const allowed = allowedValues(schema);
    const range = allowed === '' ? '' : `  [${allowed}]`;
    const note = typeof schema.description === 'string' ? `  ${schema.description}` : '';
    return `  ${name.padEnd(28)} default ${fallback}${range}${note}`;
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

const port = (defaultPort: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: defaultPort, description });

/** Settings every long-running app shares; apps spread these into their own schema. */
export const commonEnv = {
  // A plain `enum`, not a union of literals: a bad value then fails with one line, not eight.
  LOG_LEVEL: Type.Unsafe<(typeof LOG_LEVELS)[number]>({
    type: 'string',
    enum: [...LOG_LEVELS],
    default: 'info',
    description: 'lowest level of the JSON log lines written to stdout',
  }),
  // Below the pods' terminationGracePeriodSeconds (30 s, 35 s), so a pod exits before it is killed.
  SHUTDOWN_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    default: 25_000,
    description:
      'on SIGTERM, how long finishing in-flight work may take; past it the process exits 1',
  }),
} satisfies TProperties;

export const kafkaEnv = {
  KAFKA_BROKERS: Type.String({
    minLength: 1,
    default: '127.0.0.1:19092',
    description: 'comma-separated Kafka brokers (host:port); the default is the local stack',
  }),
  KAFKA_CLIENT_ID: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'Kafka client id; unset: named after the app (a simulator also after its SITE_ID)',
    }),
  ),
} satisfies TProperties;

export const databaseEnv = {
  DATABASE_URL: Type.String({
    minLength: 1,
    default: 'postgres://telemetry:telemetry@127.0.0.1:55432/telemetry',
    description: "PostgreSQL connection URL; the default is the local stack's database",
  }),
  DATABASE_POOL_SIZE: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 10,
    description: 'connections this process may hold open at once',
  }),
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

/** The HTTP server's address; `serves` says what it serves (the ops server's endpoints by default). */
export const opsEnv = (defaultPort: number, serves = '/metrics, /livez and /readyz') =>
  ({
    HTTP_HOST: Type.String({
      default: '0.0.0.0',
      description: `address the HTTP server of ${serves} listens on`,
    }),
    HTTP_PORT: port(defaultPort, `port of ${serves}`),
  }) satisfies TProperties;
