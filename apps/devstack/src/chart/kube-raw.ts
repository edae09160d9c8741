// Objects sent to the API server exactly as rendered. client-node's typed serializer drops
// fields it does not know (a typo, or `x-kubernetes-*` keys of a CRD), which would hide the very
// mistakes a server-side validation of the chart is meant to find; these requests send the JSON
// as it is, with strict field validation.
import { request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface RawObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

export interface RawResponse {
  status: number;
  body: string;
}

async function send(
  config: KubeConfig,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<RawResponse> {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const options: Parameters<typeof request>[1] = { method, headers: {}, timeout: 30_000 };
  await config.applyToHTTPSOptions(options);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  options.headers = {
    ...(options.headers as Record<string, string>),
    accept: 'application/json',
    ...(payload ? { 'content-type': 'application/json' } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, cluster.server), options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: text });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** Resource paths by apiVersion and kind, from the server's discovery documents. */
export class ResourcePaths {
  readonly #config: KubeConfig;
  readonly #lists = new Map<string, ApiResource[]>();

  constructor(config: KubeConfig) {
    this.#config = config;
  }

  async #resources(apiVersion: string): Promise<ApiResource[]> {
    const cached = this.#lists.get(apiVersion);
    if (cached) return cached;
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const response = await send(this.#config, 'GET', base);
    if (response.status !== 200) {
      throw new Error(`the API server does not serve ${apiVersion} (${response.status})`);
    }
    const list = (JSON.parse(response.body) as { resources: ApiResource[] }).resources.filter(
      (r) => !r.name.includes('/'),
    );
    this.#lists.set(apiVersion, list);
    return list;
  }

  /** The collection path to POST an object to, and whether its kind is namespaced. */
  async collection(
    object: RawObject,
    namespace: string,
  ): Promise<{ path: string; namespaced: boolean }> {
    const resource = (await this.#resources(object.apiVersion)).find((r) => r.kind === object.kind);
    if (!resource)
      throw new Error(`the API server has no kind ${object.kind} in ${object.apiVersion}`);
    const base = object.apiVersion.includes('/')
      ? `/apis/${object.apiVersion}`
      : `/api/${object.apiVersion}`;
    const ns = object.metadata.namespace ?? namespace;
    return {
      path: resource.namespaced
        ? `${base}/namespaces/${ns}/${resource.name}`
        : `${base}/${resource.name}`,
      namespaced: resource.namespaced,
    };
  }
}

export interface CreateOptions {
  /** Namespace for namespaced objects that name none. */
  namespace: string;
  dryRun?: boolean;
}

/** POSTs the object as it is, with fieldValidation=Strict (unknown or duplicate fields fail). */
export async function createRaw(
  config: KubeConfig,
  paths: ResourcePaths,
  object: RawObject,
  options: CreateOptions,
): Promise<RawResponse> {
  const { path, namespaced } = await paths.collection(object, options.namespace);
  const body = namespaced
    ? {
        ...object,
        metadata: { ...object.metadata, namespace: object.metadata.namespace ?? options.namespace },
      }
    : object;
  const query = `fieldValidation=Strict${options.dryRun ? '&dryRun=All' : ''}`;
  return send(config, 'POST', `${path}?${query}`, body);
}

/** GETs one object by its collection path and name; undefined when it does not exist. */
export async function readRaw(
  config: KubeConfig,
  paths: ResourcePaths,
  object: RawObject,
  namespace: string,
): Promise<unknown> {
  const { path } = await paths.collection(object, namespace);
  const response = await send(config, 'GET', `${path}/${object.metadata.name}`);
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${response.body}`);
  return JSON.parse(response.body);
}
