// actionlint (GitHub Actions workflow linter) built from the Go module proxy, cached per version.
import { goInstallCached } from './go-install.ts';
import { TOOL_VERSIONS } from './versions.ts';

export function ensureActionlint(): Promise<string> {
  const { actionlint } = TOOL_VERSIONS;
  return goInstallCached({
    cacheName: `actionlint-${actionlint}`,
    packageAtVersion: `github.com/rhysd/actionlint/cmd/actionlint@${actionlint}`,
    binary: 'actionlint',
    ldflags: ['-s', '-w'],
  });
}
