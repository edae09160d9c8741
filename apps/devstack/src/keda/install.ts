// `make keda`: KEDA on the running node, as pods from the locally built image, with its own
// manifests (CRDs, RBAC, operator, metrics adapter, the external-metrics APIService). Done when
// the API server answers for external.metrics.k8s.io through the adapter.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { importImages } from '../images/import.ts';
import { ensureNodeBinaries } from '../node/binaries.ts';
import { NODE_PATHS } from '../node/layout.ts';
import { readNodeStatus } from '../node/status.ts';
import { waitFor } from '../ports.ts';
import { ensureKeda } from '../tools/keda.ts';
import { ensureKedaImage } from './image.ts';
import { KEDA_APISERVICE, KEDA_DEPLOYMENTS, KEDA_NAMESPACE, kedaManifests } from './manifests.ts';

const run = promisify(execFile);

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

export async function installKeda(log: (line: string) => void = console.log): Promise<void> {
  if (readNodeStatus()?.state !== 'ready') {
    throw new Error('no node is Ready: run `make cluster` first');
  }
  const started = Date.now();
  const keda = await ensureKeda();
  const image = await ensureKedaImage(log);
  await importImages([image.archive], { containerdAddress: NODE_PATHS.containerdSocket, log });
  const { kubectl } = await ensureNodeBinaries();
  const env = { ...process.env, KUBECONFIG: NODE_PATHS.kubeconfig };
  const kube = async (args: string[], input?: string) => {
    try {
      const pending = run(kubectl, args, { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
      if (input !== undefined) pending.child.stdin?.end(input);
      return (await pending).stdout;
    } catch (error) {
      const e = error as Error & { stderr?: string };
      throw new Error(`kubectl ${args.join(' ')} failed: ${e.stderr ?? e.message}`, {
        cause: error,
      });
    }
  };
  const objects = kedaManifests(keda.moduleDir, image.name);
  // Server-side: the CRDs are too large for the client-side last-applied annotation.
  await kube(
    ['apply', '--server-side', '--force-conflicts', '--field-manager=telemetrypulse', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  );
  log(`applied KEDA ${keda.version}'s ${objects.length} objects (config/ of its Go module)`);
  for (const name of KEDA_DEPLOYMENTS) {
    await kube([
      '-n',
      KEDA_NAMESPACE,
      'rollout',
      'status',
      `deployment/${name}`,
      '--timeout=100s',
    ]).catch(async (error: unknown) => {
      const pods = await kube(['-n', KEDA_NAMESPACE, 'get', 'pods', '-o', 'wide']).catch(() => '');
      throw new Error(`${(error as Error).message}\n${pods}`, { cause: error });
    });
  }
  log(`KEDA's operator and metrics adapter are Ready (${seconds(started)})`);
  // The operator writes the adapter's CA into the APIService; then the aggregator reaches it.
  await waitFor(
    `APIService ${KEDA_APISERVICE} to be Available`,
    async () => {
      const out = await kube([
        'get',
        'apiservice',
        KEDA_APISERVICE,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Available")].status}',
      ]);
      return out.trim() === 'True';
    },
    180_000,
    1000,
  );
  await kube(['get', '--raw', '/apis/external.metrics.k8s.io/v1beta1']);
  log(`${KEDA_APISERVICE} is served by KEDA's metrics adapter (${seconds(started)} in all)`);
}
