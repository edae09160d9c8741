import { Type, type Static } from '@sinclair/typebox';
import { commonEnv, databaseEnv, opsEnv, readConfig } from '@telemetrypulse/shared';

export const ApiConfigSchema = Type.Object({
  ...commonEnv,
  ...databaseEnv,
  ...opsEnv(8000),
  // Below the kubelet's default probe timeout (1 s), so a hung database reads as "not ready".
  READINESS_TIMEOUT_MS: Type.Integer({
    minimum: 50,
    maximum: 30_000,
    default: 800,
    description: 'how long /health/ready waits for the database',
  }),
  KPIS_LIVE_LOOKBACK_MINUTES: Type.Integer({
    minimum: 5,
    maximum: 7 * 24 * 60,
    default: 60,
    description: 'how far back /kpis/live looks for the latest window of a sensor',
  }),
});

export type ApiConfig = Static<typeof ApiConfigSchema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  return readConfig(ApiConfigSchema, env);
}
