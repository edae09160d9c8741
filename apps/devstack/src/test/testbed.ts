// Mocha side of the Kubernetes testbed: one control plane per mocha process, started by the
// first test that asks for it; the global teardown in mocha-platform.ts stops it.
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { startTestbed, type Testbed } from '../kube/testbed.ts';

export type { Testbed };

/**
 * Timeout for the hook that first calls useTestbed(). With the binaries cached the testbed starts
 * in seconds; on a machine without them it first builds Kubernetes from source (`make tools`
 * does that ahead of the tests).
 */
export const TESTBED_START_TIMEOUT_MS = 60 * 60_000;

let started: Promise<Testbed> | undefined;

/**
 * The shared Kubernetes testbed (etcd + kube-apiserver + kube-controller-manager), started on the
 * first call and reused by every later one in this mocha process. Call it in a `before` hook
 * with `this.timeout(TESTBED_START_TIMEOUT_MS)`; do not stop it yourself. Give each test file
 * its own namespace (createTestNamespace) so files do not see each other's objects.
 */
export function useTestbed(): Promise<Testbed> {
  started ??= startTestbed().catch((error: unknown) => {
    started = undefined; // let a later file try again rather than repeat a stale failure
    throw error;
  });
  return started;
}

/** Stops the shared testbed if a test started it (the mocha global teardown calls this). */
export async function stopTestbedIfStarted(): Promise<void> {
  const testbed = await started?.catch(() => undefined);
  started = undefined;
  await testbed?.stop();
}

export interface TestNamespace {
  name: string;
  /** Deletes the namespace (its objects go with it); does not wait for it to be gone. */
  delete(): Promise<void>;
}

/** A new namespace named `<prefix>-<random>`, e.g. for one test file's objects. */
export async function createTestNamespace(
  testbed: Testbed,
  prefix = 'test',
): Promise<TestNamespace> {
  const core = testbed.kubeConfig().makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  // client-node's model classes are plain data: it serializes object literals the same way.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
  await core.createNamespace({ body: { metadata: { name } } });
  return {
    name,
    async delete() {
      await core.deleteNamespace({ name });
    },
  };
}

/**
 * Registers hooks that give the enclosing suite a namespace of its own on the shared testbed,
 * deleted after the suite; its `name` can be read once the suite's before() hooks ran.
 */
export function useTestNamespace(prefix: string): { readonly name: string } {
  let namespace: TestNamespace | undefined;
  before(async () => {
    namespace = await createTestNamespace(await useTestbed(), prefix);
  });
  after(async () => {
    await namespace?.delete();
  });
  return {
    get name() {
      if (!namespace) throw new Error('the namespace is created in before()');
      return namespace.name;
    },
  };
}
