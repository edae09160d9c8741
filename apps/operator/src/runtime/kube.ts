// The Kubernetes API clients the operator uses, and how it reads and logs their errors.
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  Observable,
  PatchStrategy,
  setHeaderOptions,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';

export const SITE_GROUP = 'telemetrypulse.io';
export const SITE_VERSION = 'v1alpha1';
export const SITE_PLURAL = 'sites';

export interface KubeClients {
  config: KubeConfig;
  apps: AppsV1Api;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  events: EventsV1Api;
  coordination: CoordinationV1Api;
}

/** From a kubeconfig file when given, else ~/.kube/config, else the pod's service account. */
export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const config = new KubeConfig();
  if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
  else config.loadFromDefault();
  return config;
}

export function makeClients(config: KubeConfig): KubeClients {
  return {
    config,
    apps: config.makeApiClient(AppsV1Api),
    core: config.makeApiClient(CoreV1Api),
    custom: config.makeApiClient(CustomObjectsApi),
    events: config.makeApiClient(EventsV1Api),
    coordination: config.makeApiClient(CoordinationV1Api),
  };
}

export const serverSideApply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Per-call options that end the request when `signal` aborts (the client sets no deadline). */
export function withSignal(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (request: RequestContext) => {
      request.setSignal(signal);
      return new Observable(Promise.resolve(request));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

export function statusCode(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** The API server's own message (its Status object) rather than the client's dump of headers. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = error.body;
    let parsed: unknown = body;
    if (typeof body === 'string') {
      try {
        parsed = JSON.parse(body);
      } catch {
        return `HTTP ${error.code}: ${body.slice(0, 500)}`;
      }
    }
    const message = (parsed as { message?: unknown } | null)?.message;
    return typeof message === 'string' ? message : `HTTP ${error.code}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** An API error as the operator logs it (`{ err }`) and keeps it as a cause. */
export class KubeApiError extends Error {
  override name = 'KubeApiError';
  /** The HTTP status. */
  readonly code: number;

  constructor(error: ApiException<unknown>) {
    super(errorMessage(error));
    this.code = error.code;
    // Where the call failed: the original's frames, without its message (the response again).
    const frames = (error.stack ?? '').split('\n').filter((line) => line.startsWith('    at '));
    this.stack = [`${this.name}: ${this.message}`, ...frames].join('\n');
  }
}

/**
 * An ApiException's own message spells out the whole response, every header included: it becomes
 * a KubeApiError with the API server's message and the status. Any other error stays as it is.
 */
export function kubeError(error: unknown): unknown {
  return error instanceof ApiException ? new KubeApiError(error) : error;
}
