import { pino, type Logger, type LevelWithSilent } from 'pino';
import { commonEnv, schemaDefault } from './config.ts';

export type { Logger };

/** Structured JSON logs, one logger per service, level from LOG_LEVEL. */
export function createLogger(
  service: string,
  level: string = process.env.LOG_LEVEL ?? schemaDefault({ properties: commonEnv }, 'LOG_LEVEL'),
): Logger {
  return pino({
    name: service,
    level: level as LevelWithSilent,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
