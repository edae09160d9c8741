// What the operator's integration tests do to the real API server: install the chart's CRD, write
// Sites, read what the operator made, and stand in for the missing kubelet.
import { readFileSync } from 'node:fs';
import {
  ApiextensionsV1Api,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
} from '@kubernetes/client-node';
import { SITE_API_VERSION, SITE_KIND } from '@telemetrypulse/shared';
import { StopWaiting } from '@telemetrypulse/devstack/test';
import { CRD_FILE } from '../../src/crd-file.ts';
import {
  makeClients,
  mergePatch,
  SITE_GROUP,
  SITE_PLURAL,
  SITE_VERSION,
  statusCode,
  type KubeClients,
} from '../../src/runtime/kube.ts';
import type { SiteResource } from '../../src/reconcile/reconcile.ts';
import type { Reason } from '../../src/reconcile/reasons.ts';
import type { ConditionType, SiteCondition } from '../../src/reconcile/status.ts';

export { StopWaiting };

/** Polls until `read` returns a value (not undefined); errors count as "not yet". */
export async function eventually<T>(
  what: string,
  read: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await read();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof StopWaiting) throw error;
      last = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const cause = last instanceof Error ? `; last error: ${last.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
}

/** Applies the chart's CRD (as Helm would from crds/) and waits until the API serves Sites. */
export async function installSiteCrd(config: KubeConfig): Promise<void> {
  const crd = loadYaml<KubernetesObject>(readFileSync(CRD_FILE, 'utf8'));
  await KubernetesObjectApi.makeApiClient(config).patch(
    crd,
    undefined,
    undefined,
    'telemetrypulse-tests',
    true,
    PatchStrategy.ServerSideApply,
  );
  const api = config.makeApiClient(ApiextensionsV1Api);
  await eventually('the Site CRD to be established', async () => {
    const current = await api.readCustomResourceDefinition({
      name: `${SITE_PLURAL}.${SITE_GROUP}`,
    });
    const established = current.status?.conditions?.some(
      (c) => c.type === 'Established' && c.status === 'True',
    );
    return established ? true : undefined;
  });
}

export class SiteClient {
  readonly clients: KubeClients;
  readonly namespace: string;

  constructor(config: KubeConfig, namespace: string) {
    this.clients = makeClients(config);
    this.namespace = namespace;
  }

  #ids(name: string) {
    return {
      group: SITE_GROUP,
      version: SITE_VERSION,
      plural: SITE_PLURAL,
      namespace: this.namespace,
      name,
    };
  }

  async create(name: string, spec: Record<string, unknown>, dryRun = false): Promise<SiteResource> {
    return (await this.clients.custom.createNamespacedCustomObject({
      group: SITE_GROUP,
      version: SITE_VERSION,
      plural: SITE_PLURAL,
      namespace: this.namespace,
      body: { apiVersion: SITE_API_VERSION, kind: SITE_KIND, metadata: { name }, spec },
      ...(dryRun ? { dryRun: 'All' } : {}),
    })) as SiteResource;
  }

  async patch(name: string, body: Record<string, unknown>): Promise<void> {
    await this.clients.custom.patchNamespacedCustomObject({ ...this.#ids(name), body }, mergePatch);
  }

  async get(name: string): Promise<SiteResource> {
    return (await this.clients.custom.getNamespacedCustomObject(this.#ids(name))) as SiteResource;
  }

  async delete(name: string): Promise<void> {
    await this.clients.custom.deleteNamespacedCustomObject(this.#ids(name));
  }

  async condition(name: string, type: string): Promise<SiteCondition | undefined> {
    const site = await this.get(name);
    return site.status?.conditions?.find((c) => c.type === type);
  }

  /** The condition once it has this status and reason for the Site's current generation. */
  async conditionBecomes(name: string, type: ConditionType, status: string, reason: Reason) {
    return eventually(`Site ${name} ${type}=${status} (${reason})`, async () => {
      const site = await this.get(name);
      const found = site.status?.conditions?.find((c) => c.type === type);
      const current = found?.observedGeneration === site.metadata?.generation;
      return current && found?.status === status && found.reason === reason ? found : undefined;
    });
  }

  async deployment(name: string): Promise<V1Deployment | undefined> {
    try {
      return await this.clients.apps.readNamespacedDeployment({ name, namespace: this.namespace });
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw error;
    }
  }

  /** The Events recorded for a Site. */
  async events(name: string) {
    const list = await this.clients.events.listNamespacedEvent({
      namespace: this.namespace,
      fieldSelector: `regarding.name=${name},regarding.kind=${SITE_KIND}`,
    });
    return list.items;
  }

  /** Event reasons recorded for a Site. */
  async eventReasons(name: string): Promise<string[]> {
    return (await this.events(name)).map((e) => e.reason ?? '');
  }

  /** An image pull secret (its content does not matter to the operator, only that it exists). */
  async createPullSecret(name: string): Promise<void> {
    // client-node's model classes are plain data: it serializes object literals the same way.
    /* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment */
    await this.clients.core.createNamespacedSecret({
      namespace: this.namespace,
      body: {
        metadata: { name },
        type: 'kubernetes.io/dockerconfigjson',
        stringData: { '.dockerconfigjson': '{"auths":{}}' },
      },
    });
    /* eslint-enable @typescript-eslint/no-unsafe-class-instance-assignment */
  }

  /**
   * Marks the simulator pods Running and Ready, as a kubelet would report them. The testbed has
   * no kubelet (no node runs pods), so this stands in for it; the ReplicaSet and Deployment
   * controllers then count the pods as ready and available, as in a real cluster.
   */
  async reportPodsReady(siteId: string): Promise<number> {
    const pods = await this.clients.core.listNamespacedPod({
      namespace: this.namespace,
      labelSelector: `app.kubernetes.io/instance=${siteId}`,
    });
    const now = new Date();
    for (const pod of pods.items) {
      await this.clients.core.patchNamespacedPodStatus(
        {
          name: pod.metadata?.name ?? '',
          namespace: this.namespace,
          body: {
            status: {
              phase: 'Running',
              startTime: now,
              conditions: [
                { type: 'Ready', status: 'True', lastTransitionTime: now },
                { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
                { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
              ],
            },
          },
        },
        mergePatch,
      );
    }
    return pods.items.length;
  }
}
