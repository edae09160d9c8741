// Prometheus and promtool from Debian's `prometheus` package, unpacked into the per-machine cache
// without installing anything (tools/debian-unpack.ts).
import path from 'node:path';
import { unpackDebianPackage } from '../tools/debian-unpack.ts';

export interface PrometheusBinaries {
  version: string;
  prometheus: string;
  promtool: string;
}

/** Paths of the `prometheus` and `promtool` binaries, in CACHE_DIR/prometheus-<version>. */
export async function installPrometheus(): Promise<PrometheusBinaries> {
  const { version, root } = await unpackDebianPackage('prometheus');
  const bin = path.join(root, 'usr', 'bin');
  return {
    version,
    prometheus: path.join(bin, 'prometheus'),
    promtool: path.join(bin, 'promtool'),
  };
}
