import { Type, type Static } from '@sinclair/typebox';
import {
  commonEnv,
  ConfigError,
  databaseEnv,
  kafkaEnv,
  opsEnv,
  readConfig,
  splitList,
  startupEnv,
  TOPICS,
} from '@telemetrypulse/shared';

export const READ_AUTH_MODES = ['open', 'key'] as const;
export const RATE_LIMIT_STORES = ['postgres', 'memory'] as const;
export const SWITCH = ['on', 'off'] as const;
export type RateLimitStoreKind = (typeof RATE_LIMIT_STORES)[number];
export type ReadAuthMode = (typeof READ_AUTH_MODES)[number];
export type Switch = (typeof SWITCH)[number];

export const ApiConfigSchema = Type.Object({
  ...commonEnv,
  ...databaseEnv,
  ...kafkaEnv,
  ...opsEnv(8000, 'the API'),
  ...startupEnv,
  // Below the kubelet's default probe timeout (1 s), so a hung database reads as "not ready".
  READINESS_TIMEOUT_MS: Type.Integer({
    minimum: 50,
    maximum: 30_000,
    default: 800,
    description: 'how long /readyz and /health/ready wait for the database',
  }),
  // Long enough for a client sending continuously to use each kept-alive connection once more;
  // the chart's preStop wait has taken the pod out of the Service before SIGTERM.
  SHUTDOWN_DRAIN_MS: Type.Integer({
    minimum: 0,
    maximum: 60_000,
    default: 2000,
    description:
      'on SIGTERM, how long idle keep-alive connections stay open for one last request (every answer then says Connection: close) before they are closed; part of SHUTDOWN_TIMEOUT_MS, below it by at least 5000',
  }),
  KPIS_LIVE_LOOKBACK_MINUTES: Type.Integer({
    minimum: 5,
    maximum: 7 * 24 * 60,
    default: 60,
    description: 'how far back /kpis/live looks for the latest window of a sensor',
  }),
  EVENTS_TOPIC: Type.String({
    minLength: 1,
    default: TOPICS.events,
    description: 'Kafka topic ingested events are published to',
  }),
  // Secrets: mounted from a Kubernetes Secret as comma-separated lists.
  API_KEYS: Type.String({
    default: '',
    description: 'comma-separated keys allowed to write (ingest, acknowledge, resolve) and read',
  }),
  READ_API_KEYS: Type.String({
    default: '',
    description: 'comma-separated keys allowed to read only',
  }),
  READ_AUTH: Type.Unsafe<ReadAuthMode>({
    type: 'string',
    enum: [...READ_AUTH_MODES],
    default: 'open',
    description: 'open: reads need no key; key: reads need a read or write key',
  }),
  CORS_ORIGINS: Type.String({
    default: '',
    description: 'comma-separated origins allowed by CORS, or * for any; empty: no CORS',
  }),
  RATE_LIMIT_PER_MINUTE: Type.Integer({
    minimum: 0,
    default: 1200,
    description:
      'requests per client IP and minute, with or without an API key; 0 turns the IP limit off',
  }),
  RATE_LIMIT_PER_KEY_PER_MINUTE: Type.Integer({
    minimum: 0,
    default: 6000,
    description:
      'requests per API key and minute, whatever IPs they come from (each also counts against its IP); 0 turns the key limit off',
  }),
  RATE_LIMIT_STORE: Type.Unsafe<RateLimitStoreKind>({
    type: 'string',
    enum: [...RATE_LIMIT_STORES],
    default: 'postgres',
    description: 'postgres: one limit shared by all API replicas; memory: a limit per replica',
  }),
  TRUST_PROXY_HOPS: Type.Integer({
    minimum: 0,
    maximum: 10,
    default: 0,
    description:
      'proxies (ingress) in front of the API whose X-Forwarded-For is trusted; 0: the header is ignored and the client is the connecting address',
  }),
  BODY_LIMIT_BYTES: Type.Integer({
    minimum: 1024,
    maximum: 16 * 1024 * 1024,
    default: 1_048_576,
    description: 'largest JSON request body accepted',
  }),
  REQUEST_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 120_000,
    default: 10_000,
    description: 'a request still running after this answers 503 (the live stream is exempt)',
  }),
  INGEST_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 60_000,
    default: 5000,
    description: 'how long ingest waits for Kafka before answering 503',
  }),
  INGEST_RETRY_AFTER_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 3600,
    default: 5,
    description: 'Retry-After of the 503 ingest answers while Kafka is unavailable',
  }),
  RESPONSE_COMPRESSION: Type.Unsafe<Switch>({
    type: 'string',
    enum: [...SWITCH],
    default: 'on',
    description:
      'on: answers of 1 kB and more are compressed for clients that accept it (cached views gzipped once per refresh; never the live stream); off: when a proxy in front compresses',
  }),
  READ_CACHE_TTL_MS: Type.Integer({
    minimum: 0,
    maximum: 60_000,
    default: 1000,
    description:
      'how long polled views (KPIs, trends, series, heatmap, alert pages, sites, devices) are cached, and then served stale while refreshed; 0: off',
  }),
  READ_CACHE_COARSE_TTL_MS: Type.Integer({
    minimum: 0,
    maximum: 600_000,
    default: 10_000,
    description:
      'how long series of 1h and 1d buckets are cached (only their newest bucket changes); never less than READ_CACHE_TTL_MS, off with it',
  }),
  LIVE_HEARTBEAT_MS: Type.Integer({
    minimum: 1000,
    maximum: 120_000,
    default: 15_000,
    description: 'how often each live stream is sent a heartbeat comment',
  }),
  LIVE_MAX_CLIENTS: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    default: 1000,
    description: 'live streams one replica serves at once; more answer 503',
  }),
  LIVE_MAX_STREAMS_PER_CLIENT: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    default: 20,
    description:
      'live streams one client (its API key when it sends a valid one, else its IP) may hold open on one replica; more answer 429',
  }),
  LIVE_MAX_UNSENT_BYTES: Type.Integer({
    minimum: 16_384,
    maximum: 64 * 1024 * 1024,
    default: 262_144,
    description:
      'a live stream whose client leaves more than this unread is ended (the client resumes from its cursor), so stalled clients cannot grow memory',
  }),
  API_STATEMENT_TIMEOUT_MS: Type.Integer({
    minimum: 0,
    maximum: 600_000,
    default: 5000,
    description:
      "PostgreSQL statement_timeout of the API's connections: a query running longer is cancelled and answers 503; 0: the server's own setting",
  }),
  LIVE_REPLAY_MINUTES: Type.Integer({
    minimum: 1,
    maximum: 24 * 60,
    default: 60,
    description: 'how far back a reconnecting live client (Last-Event-ID) is sent what it missed',
  }),
});

export type ApiConfig = Static<typeof ApiConfigSchema>;

/** Time the shutdown keeps after the server closed, for Kafka and the database pools. */
export const SHUTDOWN_RESERVE_MS = 5000;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const config = readConfig(ApiConfigSchema, env);
  // The drain is part of the shutdown: one that outlasts it would end in a timeout (exit 1).
  if (config.SHUTDOWN_DRAIN_MS + SHUTDOWN_RESERVE_MS >= config.SHUTDOWN_TIMEOUT_MS) {
    throw new ConfigError(
      `invalid configuration:\n  SHUTDOWN_DRAIN_MS (${config.SHUTDOWN_DRAIN_MS}) must be below SHUTDOWN_TIMEOUT_MS (${config.SHUTDOWN_TIMEOUT_MS}) - ${SHUTDOWN_RESERVE_MS}`,
    );
  }
  return config;
}

/** `*` means any origin; an empty list turns CORS off. */
export function corsOrigins(config: Pick<ApiConfig, 'CORS_ORIGINS'>): string[] | '*' {
  const origins = splitList(config.CORS_ORIGINS);
  return origins.includes('*') ? '*' : origins;
}
