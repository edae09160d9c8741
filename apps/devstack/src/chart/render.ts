// The chart through the real helm binary: lint, render into objects, install. Tests and tools
// call these with the helm that apps/devstack/src/tools builds from the Go module proxy.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { CHART_DIR } from './values-schema.ts';

const execFileAsync = promisify(execFile);

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs helm; never throws for a non-zero exit (callers check the result). */
export async function runHelm(
  helm: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<HelmResult> {
  // A private HOME for helm's caches and repositories: nothing from the machine leaks in.
  const home = mkdtempSync(path.join(tmpdir(), 'helm-home-'));
  try {
    const { stdout, stderr } = await execFileAsync(helm, args, {
      env: { PATH: process.env.PATH, HOME: home, ...env },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 10 * 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failure.code !== 'number') throw error;
    return { code: failure.code, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** Values files, e.g. charts/telemetrypulse/ci/*.yaml. */
  valuesFiles?: string[];
  /** More values, written to a file (so nested objects keep their types). */
  values?: Record<string, unknown>;
  /** APIs the "cluster" serves, e.g. keda.sh/v1alpha1/ScaledObject (helm --api-versions). */
  apiVersions?: string[];
  /** The "cluster's" Kubernetes version (helm --kube-version); helm's own default otherwise. */
  kubeVersion?: string;
}

function valuesArgs(options: RenderOptions, scratch: string): string[] {
  const args: string[] = [];
  for (const file of options.valuesFiles ?? []) args.push('-f', file);
  if (options.values) {
    const file = path.join(scratch, 'values.json');
    writeFileSync(file, JSON.stringify(options.values));
    args.push('-f', file);
  }
  return args;
}

async function withScratch<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), 'chart-values-'));
  try {
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface TemplateOptions extends RenderOptions {
  /** Also render the CRDs in crds/ (helm --include-crds). */
  includeCrds?: boolean;
}

/** `helm template`: the raw result (stderr holds schema and `fail` messages). */
export function helmTemplate(helm: string, options: TemplateOptions = {}): Promise<HelmResult> {
  return withScratch((scratch) =>
    runHelm(helm, [
      'template',
      options.release ?? 'telemetrypulse',
      CHART_DIR,
      '--namespace',
      options.namespace ?? 'telemetrypulse',
      ...(options.includeCrds ? ['--include-crds'] : []),
      ...valuesArgs(options, scratch),
      ...(options.apiVersions ?? []).flatMap((api) => ['--api-versions', api]),
      ...(options.kubeVersion ? ['--kube-version', options.kubeVersion] : []),
    ]),
  );
}

/** The rendered objects (hooks and tests included; CRDs from crds/ only with includeCrds). */
export async function renderChart(
  helm: string,
  options: TemplateOptions = {},
): Promise<KubeObject[]> {
  const result = await helmTemplate(helm, options);
  if (result.code !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => {
      if (doc.errors.length > 0)
        throw new Error(`rendered YAML is invalid: ${doc.errors[0]?.message ?? ''}`);
      return doc.toJS() as KubeObject | null;
    })
    .filter((object): object is KubeObject => object !== null);
}

/** `helm lint --strict` with the given values. */
export function helmLint(helm: string, options: RenderOptions = {}): Promise<HelmResult> {
  return withScratch((scratch) =>
    runHelm(helm, ['lint', '--strict', CHART_DIR, ...valuesArgs(options, scratch)]),
  );
}

export function findObject(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} in the rendered chart (have: ${have})`);
  }
  return found;
}
