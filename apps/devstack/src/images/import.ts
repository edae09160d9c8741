// Loads image archives into a running containerd, where the kubelet finds them: no registry can
// serve them. containerd's CRI keeps its own list of image names: an image replaced under the
// same name is seen only after a containerd restart.
import { ensureDebianPackages } from '../tools/debian.ts';
import { runCommand } from './command.ts';

export interface ImportOptions {
  /** containerd's socket. */
  containerdAddress: string;
  /** The CRI plugin's namespace is k8s.io. */
  namespace?: string;
  /** Snapshotter to unpack into; default: ctr's (overlayfs). */
  snapshotter?: string;
  /** The ctr binary; default: Debian containerd's `ctr` (installed when missing). */
  ctr?: string;
  log?: (line: string) => void;
}

/** `ctr --address SOCK -n NAMESPACE images import FILE`'s arguments. */
export function ctrImportArgs(file: string, options: ImportOptions): string[] {
  return [
    '--address',
    options.containerdAddress,
    '-n',
    options.namespace ?? 'k8s.io',
    'images',
    'import',
    ...(options.snapshotter ? ['--snapshotter', options.snapshotter] : []),
    file,
  ];
}

/** The image names in ctr's import output ("unpacking NAME (sha256:...)...done"). */
export function importedNames(output: string): string[] {
  return [...output.matchAll(/^unpacking (\S+) \(sha256:[0-9a-f]+\)/gm)].map((m) => m[1] ?? '');
}

/** Imports each OCI archive, one after another; returns the image names containerd now has. */
export async function importImages(
  files: readonly string[],
  options: ImportOptions,
): Promise<string[]> {
  if (!options.ctr) await ensureDebianPackages(['containerd']);
  const names: string[] = [];
  for (const file of files) {
    const started = performance.now();
    const output = await runCommand(options.ctr ?? 'ctr', ctrImportArgs(file, options));
    const imported = importedNames(output);
    if (imported.length === 0) throw new Error(`ctr imported no named image from ${file}`);
    names.push(...imported);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    options.log?.(`imported ${imported.join(', ')} into containerd in ${seconds} s`);
  }
  return names;
}
