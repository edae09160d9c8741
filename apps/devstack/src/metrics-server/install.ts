// `make metrics-server`: metrics-server v0.8.0 on the running node, as the pod of its own
// manifests (manifests/base of its Go module, with kustomize's common label), from a locally
// built image; registered as the v1beta1.metrics.k8s.io APIService. The one change: it checks
// the kubelet's serving certificate against the cluster CA (kube-root-ca.crt) instead of the
// system roots. Done when the API server serves pod metrics through it.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import {
  archivePath,
  buildah,
  IMAGES_DIR,
  pushArchive,
  readImageRecord,
  writeImageRecord,
} from '../images/buildah.ts';
import { importImages } from '../images/import.ts';
import { LOCAL_REGISTRY } from '../images/names.ts';
import { ensureNodeBinaries } from '../node/binaries.ts';
import { NODE_PATHS } from '../node/layout.ts';
import { readNodeStatus } from '../node/status.ts';
import { waitFor } from '../ports.ts';
import { ensureCachedDir } from '../tools/cached-dir.ts';
import { downloadModule } from '../tools/go.ts';
import { ensureMetricsServer } from '../tools/metrics-server.ts';
import { TOOL_VERSIONS } from '../tools/versions.ts';

const run = promisify(execFile);
const FILES = ['apiservice.yaml', 'deployment.yaml', 'rbac.yaml', 'service.yaml'];
const LABELS = { 'k8s-app': 'metrics-server' };

type KubeObject = Record<string, unknown> & {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
};

interface PodSpec {
  containers: { name: string; image?: string; args?: string[]; volumeMounts?: unknown[] }[];
  volumes?: unknown[];
}

/** manifests/base as kustomize renders it (commonLabels on metadata and selectors). */
export function metricsServerManifests(moduleDir: string, image: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const file of FILES) {
    const text = readFileSync(path.join(moduleDir, 'manifests', 'base', file), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      const object = doc.toJS() as KubeObject | null;
      if (!object) continue;
      object.metadata.labels = { ...object.metadata.labels, ...LABELS };
      if (object.kind === 'Service' && object.spec) object.spec.selector = LABELS;
      if (object.kind === 'Deployment' && object.spec) {
        object.spec.selector = { matchLabels: LABELS };
        const template = object.spec.template as {
          metadata?: { labels?: Record<string, string> };
          spec: PodSpec;
        };
        template.metadata = { ...template.metadata, labels: { ...LABELS } };
        template.spec.volumes = [
          ...(template.spec.volumes ?? []),
          { name: 'cluster-ca', configMap: { name: 'kube-root-ca.crt' } },
        ];
        for (const container of template.spec.containers) {
          container.image = image;
          container.args = [
            ...(container.args ?? []),
            '--kubelet-certificate-authority=/cluster-ca/ca.crt',
          ];
          container.volumeMounts = [
            ...(container.volumeMounts ?? []),
            { name: 'cluster-ca', mountPath: '/cluster-ca', readOnly: true },
          ];
        }
      }
      objects.push(object);
    }
  }
  return objects;
}

async function ensureImage(log: (line: string) => void) {
  const binary = await ensureMetricsServer();
  const version = TOOL_VERSIONS.metricsServer;
  const name = `${LOCAL_REGISTRY}/telemetrypulse/metrics-server:${version}`;
  const dir = await ensureCachedDir(
    `metrics-server-${version}`,
    async (tempDir) => {
      log(`building ${name} (image from scratch)`);
      const container = (await buildah(['from', 'scratch'])).trim();
      try {
        await buildah(['copy', '--quiet', '--chmod', '0755', container, binary, '/metrics-server']);
        await buildah([
          'config',
          '--entrypoint',
          '["/metrics-server"]',
          '--user',
          '65534',
          container,
        ]);
        const id = (await buildah(['commit', '--quiet', '--rm', container, name])).trim();
        await pushArchive(name, archivePath(tempDir));
        writeImageRecord(tempDir, { name, id }, { version });
      } catch (error) {
        await buildah(['rm', container]).catch(() => undefined);
        throw error;
      }
    },
    { cacheDir: IMAGES_DIR },
  );
  return readImageRecord(dir);
}

export async function installMetricsServer(log: (line: string) => void = console.log) {
  if (readNodeStatus()?.state !== 'ready')
    throw new Error('no node is Ready: run `make cluster` first');
  const started = Date.now();
  const image = await ensureImage(log);
  await importImages([image.archive], { containerdAddress: NODE_PATHS.containerdSocket, log });
  const { kubectl } = await ensureNodeBinaries();
  const env = { ...process.env, KUBECONFIG: NODE_PATHS.kubeconfig };
  const kube = async (args: string[], input?: string) => {
    const pending = run(kubectl, args, { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    if (input !== undefined) pending.child.stdin?.end(input);
    return (await pending).stdout;
  };
  const module = await downloadModule('sigs.k8s.io/metrics-server', TOOL_VERSIONS.metricsServer);
  const objects = metricsServerManifests(module.Dir, image.name);
  await kube(
    ['apply', '--server-side', '--force-conflicts', '--field-manager=telemetrypulse', '-f', '-'],
    JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  );
  await kube([
    '-n',
    'kube-system',
    'rollout',
    'status',
    'deployment/metrics-server',
    '--timeout=120s',
  ]);
  await waitFor(
    'the API server to serve pod metrics through metrics-server',
    async () => {
      await kube(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/pods']);
      return true;
    },
    120_000,
    2000,
  );
  log(
    `metrics-server ${TOOL_VERSIONS.metricsServer} serves metrics.k8s.io (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
}
