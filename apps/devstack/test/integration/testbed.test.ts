/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node's model
   classes are plain data; it serializes object literals the same way. */
// The Kubernetes testbed is a real control plane: the API serves and stores objects, the
// controller-manager's controllers act on them, and RBAC decides who may do what.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  VersionApi,
} from '@kubernetes/client-node';
import { startTestbed } from '../../src/kube/testbed.ts';
import { waitFor } from '../../src/ports.ts';
import {
  createTestNamespace,
  TESTBED_START_TIMEOUT_MS,
  useTestbed,
  type TestNamespace,
  type Testbed,
} from '../../src/test/testbed.ts';
import { TOOL_VERSIONS } from '../../src/tools/versions.ts';

/** The HTTP status of a failed call, or 200 when it succeeds. */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

describe('Kubernetes testbed', function () {
  let testbed: Testbed;
  let namespace: TestNamespace;
  let core: CoreV1Api;
  let apps: AppsV1Api;

  before(async function () {
    this.timeout(TESTBED_START_TIMEOUT_MS);
    testbed = await useTestbed();
    namespace = await createTestNamespace(testbed, 'testbed');
    core = testbed.kubeConfig().makeApiClient(CoreV1Api);
    apps = testbed.kubeConfig().makeApiClient(AppsV1Api);
  });

  after(async () => {
    await namespace.delete();
  });

  it('when asked for its version, then the API server reports the Kubernetes release it was built from', async () => {
    const version = await testbed.kubeConfig().makeApiClient(VersionApi).getCode();
    assert.equal(version.gitVersion, TOOL_VERSIONS.kubernetes);
    assert.equal(`${version.major}.${version.minor}`, '1.34');
  });

  it('when a ConfigMap is created, then it is read back from the API server', async () => {
    await core.createNamespacedConfigMap({
      namespace: namespace.name,
      body: { metadata: { name: 'greeting' }, data: { hello: 'world' } },
    });
    const read = await core.readNamespacedConfigMap({
      name: 'greeting',
      namespace: namespace.name,
    });
    assert.deepEqual(read.data, { hello: 'world' });
    assert.ok(read.metadata?.uid, 'the server assigns a uid');
  });

  it('when the owner of a Deployment is deleted, then the garbage collector deletes the Deployment', async () => {
    const owner = await core.createNamespacedConfigMap({
      namespace: namespace.name,
      body: { metadata: { name: 'owner' } },
    });
    const labels = { app: 'owned' };
    await apps.createNamespacedDeployment({
      namespace: namespace.name,
      body: {
        metadata: {
          name: 'owned',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid ?? '' },
          ],
        },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'main', image: 'example.invalid/none:1' }] },
          },
        },
      },
    });
    // The deployment controller runs: it makes the Deployment's ReplicaSet.
    await waitFor(
      'the ReplicaSet of the Deployment',
      async () =>
        (
          await apps.listNamespacedReplicaSet({
            namespace: namespace.name,
            labelSelector: 'app=owned',
          })
        ).items.length === 1,
      60_000,
    );

    await core.deleteNamespacedConfigMap({ name: 'owner', namespace: namespace.name });

    await waitFor(
      'the garbage collector to delete the Deployment and its ReplicaSet',
      async () =>
        (await statusOf(
          apps.readNamespacedDeployment({ name: 'owned', namespace: namespace.name }),
        )) === 404 &&
        (
          await apps.listNamespacedReplicaSet({
            namespace: namespace.name,
            labelSelector: 'app=owned',
          })
        ).items.length === 0,
      90_000,
      500,
    );
  });

  it('when a ServiceAccount acts, then RBAC allows only what a RoleBinding grants it', async () => {
    const ns = namespace.name;
    await core.createNamespacedServiceAccount({
      namespace: ns,
      body: { metadata: { name: 'reader' } },
    });
    const token = await core.createNamespacedServiceAccountToken({
      name: 'reader',
      namespace: ns,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const asReader = new KubeConfig();
    const admin = testbed.kubeConfig().getCurrentCluster();
    assert.ok(admin);
    asReader.loadFromOptions({
      clusters: [admin],
      users: [{ name: 'reader', token: token.status?.token ?? '' }],
      contexts: [{ name: 'reader', cluster: admin.name, user: 'reader' }],
      currentContext: 'reader',
    });
    const readerCore = asReader.makeApiClient(CoreV1Api);

    // Authenticated (not 401) but not authorized.
    assert.equal(await statusOf(readerCore.listNamespacedConfigMap({ namespace: ns })), 403);

    const rbac = testbed.kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'configmap-reader' },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: 'reader-reads-configmaps' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
      },
    });
    // The authorizer sees new bindings through a watch: poll until it has.
    await waitFor(
      'the RoleBinding to take effect',
      async () => (await statusOf(readerCore.listNamespacedConfigMap({ namespace: ns }))) === 200,
      30_000,
    );
    assert.equal(await statusOf(readerCore.listNamespacedSecret({ namespace: ns })), 403);
    assert.equal(
      await statusOf(readerCore.listNamespacedConfigMap({ namespace: 'kube-system' })),
      403,
    );
  });

  it('when a component cannot start, then the error shows the end of its log', async function () {
    this.timeout(TESTBED_START_TIMEOUT_MS);
    const dataDir = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-kube-broken-'));
    try {
      // etcd's data directory is a file: etcd exits at once.
      writeFileSync(path.join(dataDir, 'etcd'), 'not a directory');
      await assert.rejects(startTestbed({ dataDir }), (error: Error) => {
        assert.match(error.message, /etcd exited/);
        assert.match(error.message, /etcd\.log:\n/);
        assert.match(error.message, /not a directory/);
        return true;
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
