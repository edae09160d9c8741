// actionlint (GitHub Actions workflow linter) built from the Go module proxy, cached per version.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../paths.ts';
import { goInstallCached } from './go-install.ts';
import { TOOL_VERSIONS } from './versions.ts';

const run = promisify(execFile);

export function ensureActionlint(): Promise<string> {
  const { actionlint } = TOOL_VERSIONS;
  return goInstallCached({
    cacheName: `actionlint-${actionlint}`,
    packageAtVersion: `github.com/rhysd/actionlint/cmd/actionlint@${actionlint}`,
    binary: 'actionlint',
    ldflags: ['-s', '-w'],
  });
}

/** actionlint over one workflow file; never throws for findings (code 1 with the output). */
export async function runActionlint(
  binary: string,
  file: string,
): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(binary, ['-no-color', file], { cwd: REPO_ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failure.code !== 'number') throw error;
    return { code: failure.code, output: (failure.stdout ?? '') + (failure.stderr ?? '') };
  }
}
