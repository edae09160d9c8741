// The images the operator runs, built locally (no registry can serve them here):
// - the operator's: /bin/operator and /bin/prometheus-config-reloader from the Go module build,
//   alone in an image from scratch (upstream puts each on busybox). The operator starts the
//   reloader with `/bin/prometheus-config-reloader` as its command, so one image serves both.
// - Prometheus's: the static binary built from its Go module (tools/prometheus-server.ts; Debian's,
//   which the local checks run, has no Kubernetes service discovery), as /bin/prometheus like
//   upstream's image: the operator passes only arguments.
import { performance } from 'node:perf_hooks';
import {
  archivePath,
  buildah,
  IMAGES_DIR,
  type ImageRecord,
  pushArchive,
  readImageRecord,
  writeImageRecord,
} from '../images/buildah.ts';
import { LOCAL_REGISTRY } from '../images/names.ts';
import { ensureCachedDir } from '../tools/cached-dir.ts';
import { ensurePrometheusOperator } from '../tools/prometheus-operator.ts';
import { ensurePrometheusServer } from '../tools/prometheus-server.ts';

/** Upstream's images run as nobody; the Prometheus pod's security context sets its own user. */
const NOBODY = '65534:65534';

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

async function commitImage(
  from: string,
  name: string,
  files: readonly (readonly [source: string, target: string])[],
  entrypoint: string,
  tempDir: string,
  extra: Record<string, unknown>,
): Promise<void> {
  const container = (await buildah(['from', from])).trim();
  try {
    for (const [source, target] of files) {
      await buildah(['copy', '--quiet', '--chmod', '0755', container, source, target]);
    }
    await buildah([
      'config',
      '--entrypoint',
      JSON.stringify([entrypoint]),
      '--cmd',
      '',
      '--user',
      NOBODY,
      container,
    ]);
    const id = (await buildah(['commit', '--quiet', '--rm', container, name])).trim();
    await pushArchive(name, archivePath(tempDir));
    writeImageRecord(tempDir, { name, id }, extra);
  } catch (error) {
    await buildah(['rm', container]).catch(() => undefined);
    throw error;
  }
}

/** localhost/telemetrypulse/prometheus-operator:v0.85.0, with the config reloader in it. */
export async function ensureOperatorImage(
  log: (line: string) => void = console.log,
): Promise<ImageRecord & { version: string }> {
  const binaries = await ensurePrometheusOperator();
  const name = `${LOCAL_REGISTRY}/telemetrypulse/prometheus-operator:${binaries.version}`;
  const dir = await ensureCachedDir(
    `prometheus-operator-${binaries.version}`,
    async (tempDir) => {
      const started = performance.now();
      log(`building ${name} (operator and config reloader, image from scratch)`);
      await commitImage(
        'scratch',
        name,
        [
          [binaries.operator, '/bin/operator'],
          [binaries.configReloader, '/bin/prometheus-config-reloader'],
        ],
        '/bin/operator',
        tempDir,
        { version: binaries.version },
      );
      log(`  ${name} built in ${seconds(started)}`);
    },
    { cacheDir: IMAGES_DIR },
  );
  return { ...readImageRecord(dir), version: binaries.version };
}

/** localhost/telemetrypulse/prometheus:v2.53.3: Prometheus from its Go module, from scratch. */
export async function ensurePrometheusImage(
  log: (line: string) => void = console.log,
): Promise<ImageRecord & { version: string }> {
  const prometheus = await ensurePrometheusServer();
  const name = `${LOCAL_REGISTRY}/telemetrypulse/prometheus:${prometheus.version}`;
  const dir = await ensureCachedDir(
    `prometheus-${prometheus.version}`,
    async (tempDir) => {
      const started = performance.now();
      log(`building ${name} (Prometheus from its Go module, image from scratch)`);
      await commitImage(
        'scratch',
        name,
        [[prometheus.prometheus, '/bin/prometheus']],
        '/bin/prometheus',
        tempDir,
        { version: prometheus.version },
      );
      log(`  ${name} built in ${seconds(started)}`);
    },
    { cacheDir: IMAGES_DIR },
  );
  return { ...readImageRecord(dir), version: prometheus.version };
}
