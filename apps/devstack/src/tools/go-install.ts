import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureCachedDir } from './cached-dir.ts';
import { runGo } from './go.ts';

export interface GoInstallSpec {
  /** Cache folder name, e.g. "helm-v3.19.5". */
  cacheName: string;
  /** Package path and version, e.g. helm.sh/helm/v3/cmd/helm@v3.19.5. */
  packageAtVersion: string;
  binary: string;
  ldflags?: string[];
}

/** `go install PACKAGE@VERSION` into CACHE_DIR/<cacheName>/; returns the binary's path. */
export async function goInstallCached(spec: GoInstallSpec): Promise<string> {
  const dir = await ensureCachedDir(
    spec.cacheName,
    async (tempDir) => {
      const ldflags = spec.ldflags?.length ? ['-ldflags', spec.ldflags.join(' ')] : [];
      await runGo(['install', ...ldflags, spec.packageAtVersion], {
        // Outside any module: `go install pkg@version` builds with the package's own go.mod.
        cwd: tmpdir(),
        env: { GOBIN: tempDir, GOFLAGS: '', CGO_ENABLED: '0' },
      });
    },
    { announce: `go install ${spec.packageAtVersion}` },
  );
  return path.join(dir, spec.binary);
}
