// KEDA's own manifests (config/ of its Go module, what its release YAML is built from with
// kustomize), read as they are, with only what this node needs changed: the locally built image
// (never pulled), and no patching of the admission webhook, which is not installed here. The
// metrics adapter is registered as the v1beta1.external.metrics.k8s.io APIService, behind its
// Service, and the operator's certificate rotation writes the kedaorg-certs Secret and the
// APIService's CA bundle, as on any cluster. Pure but for reading the files.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export type KubeObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
};

/** The files of config/default's kustomization, less its webhooks. */
const KEDA_CONFIG_FILES = [
  'crd/bases/keda.sh_scaledobjects.yaml',
  'crd/bases/keda.sh_scaledjobs.yaml',
  'crd/bases/keda.sh_triggerauthentications.yaml',
  'crd/bases/keda.sh_clustertriggerauthentications.yaml',
  'crd/bases/eventing.keda.sh_cloudeventsources.yaml',
  'crd/bases/eventing.keda.sh_clustercloudeventsources.yaml',
  'general/namespace.yaml',
  'rbac/role.yaml',
  'rbac/role_binding.yaml',
  'rbac/aggregate_cluster_roles.yaml',
  'manager/manager.yaml',
  'manager/service.yaml',
  'metrics-server/role.yaml',
  'metrics-server/role_binding.yaml',
  'metrics-server/deployment.yaml',
  'metrics-server/service.yaml',
  'metrics-server/api_service.yaml',
  'service_account/service_account.yaml',
];

/** config/crd/kustomization.yaml's JSON patches: CRD name → patch file. */
const CRD_PATCHES: Record<string, string> = {
  'scaledjobs.keda.sh': 'crd/patches/scaledjob_patch.yaml',
  'scaledobjects.keda.sh': 'crd/patches/scaledobject_patch.yaml',
};

/** config/rbac/kustomization.yaml's labels. */
const RBAC_LABELS = {
  'app.kubernetes.io/name': 'keda-operator',
  'app.kubernetes.io/part-of': 'keda-operator',
};

export const KEDA_NAMESPACE = 'keda';
export const KEDA_APISERVICE = 'v1beta1.external.metrics.k8s.io';
export const KEDA_DEPLOYMENTS = ['keda-operator', 'keda-metrics-apiserver'];

function readDocuments(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((doc) => doc.toJS() as unknown)
    .filter((doc) => doc !== null && doc !== undefined);
}

interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
}

/**
 * Applies the JSON-patch operations KEDA's CRD patches use (`add`, also appending to an array
 * with `-`, and `remove`) in place.
 */
export function applyJsonPatch(target: unknown, ops: readonly JsonPatchOp[]): void {
  for (const op of ops) {
    const keys = op.path
      .split('/')
      .slice(1)
      .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop();
    if (last === undefined) throw new Error(`empty JSON patch path`);
    let node = target as Record<string, unknown>;
    for (const key of keys) {
      const next = node[key];
      if (typeof next !== 'object' || next === null) {
        throw new Error(`JSON patch path ${op.path} does not exist at ${key}`);
      }
      node = next as Record<string, unknown>;
    }
    if (op.op === 'add') {
      if (Array.isArray(node)) {
        node.splice(last === '-' ? node.length : Number(last), 0, op.value);
      } else {
        node[last] = op.value;
      }
    } else if (op.op === 'remove') {
      if (!(last in node)) throw new Error(`JSON patch removes ${op.path}, which does not exist`);
      if (Array.isArray(node)) node.splice(Number(last), 1);
      else Reflect.deleteProperty(node, last);
    } else {
      throw new Error(`unsupported JSON patch operation ${op.op}`);
    }
  }
}

interface Container {
  name: string;
  image?: string;
  imagePullPolicy?: string;
  args?: string[];
}

function containersOf(deployment: KubeObject): Container[] {
  const spec = deployment.spec as { template: { spec: { containers: Container[] } } };
  return spec.template.spec.containers;
}

/**
 * Every object to apply, in an order that works on an empty cluster (CRDs and the namespace
 * first). `image` is the local image holding both /keda and /keda-adapter.
 */
export function kedaManifests(moduleDir: string, image: string): KubeObject[] {
  const config = path.join(moduleDir, 'config');
  const objects: KubeObject[] = [];
  for (const file of KEDA_CONFIG_FILES) {
    for (const doc of readDocuments(path.join(config, file))) {
      const object = doc as KubeObject;
      const patch = object.kind === 'CustomResourceDefinition' && CRD_PATCHES[object.metadata.name];
      if (patch) {
        applyJsonPatch(object, readDocuments(path.join(config, patch))[0] as JsonPatchOp[]);
      }
      if (file.startsWith('rbac/')) {
        object.metadata.labels = { ...object.metadata.labels, ...RBAC_LABELS };
      }
      if (object.kind === 'Deployment') {
        for (const container of containersOf(object)) {
          // The upstream manifests say Always: the image exists only in the node's containerd.
          container.image = image;
          container.imagePullPolicy = 'IfNotPresent';
          if (container.name === 'keda-operator') {
            // The admission webhooks are not installed, so there is none to patch.
            container.args = [...(container.args ?? []), '--enable-webhook-patching=false'];
          }
        }
      }
      objects.push(object);
    }
  }
  const names = new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
  for (const name of KEDA_DEPLOYMENTS) {
    if (!names.has(`Deployment/${name}`))
      throw new Error(`KEDA's config has no Deployment ${name}`);
  }
  if (!names.has(`APIService/${KEDA_APISERVICE}`)) {
    throw new Error(`KEDA's config registers no APIService ${KEDA_APISERVICE}`);
  }
  return objects;
}
