// KEDA's image, built locally (no registry can serve ghcr.io's here): the operator (/keda) and
// the metrics adapter (/keda-adapter) from the Go module build, alone in an image from scratch,
// as the upstream images put them on a distroless static base.
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
import { ensureKeda } from '../tools/keda.ts';

/** The upstream images' user (distroless "nonroot"): the manifests ask for runAsNonRoot. */
const KEDA_USER = '65532:65532';

/** localhost/telemetrypulse/keda:v2.21.0 */
export function kedaImageName(version: string): string {
  return `${LOCAL_REGISTRY}/telemetrypulse/keda:${version}`;
}

/** The image (built once per KEDA version, after the binaries): its name and OCI archive. */
export async function ensureKedaImage(
  log: (line: string) => void = console.log,
): Promise<ImageRecord> {
  const keda = await ensureKeda();
  const name = kedaImageName(keda.version);
  const dir = await ensureCachedDir(
    `keda-${keda.version}`,
    async (tempDir) => {
      const started = performance.now();
      log(`building ${name} (KEDA's operator and metrics adapter, image from scratch)`);
      const container = (await buildah(['from', 'scratch'])).trim();
      try {
        for (const [binary, target] of [
          [keda.operator, '/keda'],
          [keda.adapter, '/keda-adapter'],
        ] as const) {
          await buildah(['copy', '--quiet', '--chmod', '0755', container, binary, target]);
        }
        await buildah([
          'config',
          '--entrypoint',
          '["/keda"]',
          '--cmd',
          '',
          '--user',
          KEDA_USER,
          container,
        ]);
        const id = (await buildah(['commit', '--quiet', '--rm', container, name])).trim();
        await pushArchive(name, archivePath(tempDir));
        writeImageRecord(tempDir, { name, id }, { version: keda.version });
        log(`  ${name} built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      } catch (error) {
        await buildah(['rm', container]).catch(() => undefined);
        throw error;
      }
    },
    { cacheDir: IMAGES_DIR },
  );
  return readImageRecord(dir);
}
