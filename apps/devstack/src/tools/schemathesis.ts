// schemathesis (property-based fuzzing of an HTTP API from its OpenAPI document), installed from
// PyPI into a virtualenv cached per version.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureCachedDir } from './cached-dir.ts';
import { TOOL_VERSIONS } from './versions.ts';

const execFileAsync = promisify(execFile);

/**
 * The command that runs schemathesis: the venv's python with `-m schemathesis.cli`. Not the
 * venv's `bin/schemathesis` script: its first line names the temporary folder the venv was
 * built in, while the interpreter finds its venv from where it is, wherever the folder moved.
 */
export async function ensureSchemathesis(): Promise<string[]> {
  const version = TOOL_VERSIONS.schemathesis;
  const dir = await ensureCachedDir(
    `schemathesis-${version}`,
    async (tempDir) => {
      try {
        await execFileAsync('python3', ['-m', 'venv', tempDir]);
        await execFileAsync(
          path.join(tempDir, 'bin', 'pip'),
          ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${version}`],
          { maxBuffer: 16 * 1024 * 1024 },
        );
      } catch (error) {
        const { stderr } = error as { stderr?: string };
        throw new Error(
          `installing schemathesis ${version} failed (needs python3 with venv and pip): ${stderr?.trim().slice(-4000) ?? String(error)}`,
        );
      }
    },
    { announce: `pip install schemathesis==${version}` },
  );
  return [path.join(dir, 'bin', 'python'), '-m', 'schemathesis.cli'];
}
