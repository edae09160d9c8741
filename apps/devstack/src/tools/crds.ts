// CustomResourceDefinitions of the operators the chart works with (KEDA, prometheus-operator),
// taken from their Go modules so rendered manifests can be dry-run against the real API server.
import { copyFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ensureCachedDir } from './cached-dir.ts';
import { downloadModule } from './go.ts';
import { TOOL_VERSIONS } from './versions.ts';

export interface CrdSet {
  /** The folder that holds the files. */
  dir: string;
  /** Every CRD file, sorted. */
  files: string[];
}

export interface Crds {
  keda: CrdSet & { scaledObjects: string };
  prometheusOperator: CrdSet & { serviceMonitors: string; prometheusRules: string };
}

async function fetchCrdSet(
  cacheName: string,
  module: string,
  version: string,
  folder: string,
  keep: (file: string) => boolean,
): Promise<CrdSet> {
  const dir = await ensureCachedDir(
    cacheName,
    async (tempDir) => {
      const source = path.join((await downloadModule(module, version)).Dir, folder);
      const files = readdirSync(source).filter(keep);
      if (files.length === 0) throw new Error(`no CRD files in ${module}@${version}/${folder}`);
      // Copied out of the module cache so the files stay put after `go clean -modcache`.
      for (const file of files) copyFileSync(path.join(source, file), path.join(tempDir, file));
    },
    { announce: `fetching CRDs from ${module}@${version}` },
  );
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => path.join(dir, f));
  return { dir, files };
}

/** Fetches (once per version) and returns the CRD files. */
export async function fetchCrds(): Promise<Crds> {
  const { keda, prometheusOperator } = TOOL_VERSIONS;
  const [kedaSet, promSet] = await Promise.all([
    fetchCrdSet(
      `crds-keda-${keda}`,
      'github.com/kedacore/keda/v2',
      keda,
      'config/crd/bases',
      (f) => f.startsWith('keda.sh_') && f.endsWith('.yaml'),
    ),
    fetchCrdSet(
      `crds-prometheus-operator-${prometheusOperator}`,
      'github.com/prometheus-operator/prometheus-operator',
      prometheusOperator,
      'example/prometheus-operator-crd',
      (f) => f.endsWith('.yaml'),
    ),
  ]);
  const pick = (set: CrdSet, name: string) => {
    const file = set.files.find((f) => path.basename(f) === name);
    if (!file) throw new Error(`${name} missing from ${set.dir}`);
    return file;
  };
  return {
    keda: { ...kedaSet, scaledObjects: pick(kedaSet, 'keda.sh_scaledobjects.yaml') },
    prometheusOperator: {
      ...promSet,
      serviceMonitors: pick(promSet, 'monitoring.coreos.com_servicemonitors.yaml'),
      prometheusRules: pick(promSet, 'monitoring.coreos.com_prometheusrules.yaml'),
    },
  };
}
