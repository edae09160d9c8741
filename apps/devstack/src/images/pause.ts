// The pod sandbox ("pause") image containerd starts first in every pod: no registry can serve
// one here, so it is a small static Go program built from source, alone in an image from scratch.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensureCachedDir } from '../tools/cached-dir.ts';
import { runGo } from '../tools/go.ts';
import {
  archivePath,
  buildah,
  IMAGES_DIR,
  type ImageRecord,
  pushArchive,
  readImageRecord,
  writeImageRecord,
} from './buildah.ts';
import { pauseImageName } from './names.ts';

/** Bump when PAUSE_SOURCE changes: the cache folder and the image tag are named after it. */
export const PAUSE_VERSION = '1.0.0';

/** The user the sandbox runs as: nobody that owns anything (as the upstream pause image). */
const PAUSE_USER = '65535:65535';

export const PAUSE_SOURCE = `// pause: the first process of a pod. It holds the pod's namespaces, reaps the processes that
// end up as its children and exits 0 on SIGTERM or SIGINT.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
`;

/** Builds the static pause binary at `output` (a throwaway module in a temporary folder). */
export async function buildPauseBinary(output: string): Promise<void> {
  const module = mkdtempSync(path.join(tmpdir(), 'telemetrypulse-pause-'));
  try {
    writeFileSync(path.join(module, 'go.mod'), 'module telemetrypulse.local/pause\n\ngo 1.22\n');
    writeFileSync(path.join(module, 'main.go'), PAUSE_SOURCE);
    await runGo(['build', '-trimpath', '-ldflags', '-s -w', '-o', output, '.'], {
      cwd: module,
      env: { CGO_ENABLED: '0', GOFLAGS: '' },
    });
  } finally {
    rmSync(module, { recursive: true, force: true });
  }
}

async function buildPauseImage(
  tempDir: string,
  name: string,
  log: (line: string) => void,
): Promise<void> {
  const started = performance.now();
  log(`building ${name} (static Go program, image from scratch)`);
  const binary = path.join(tempDir, 'pause');
  await buildPauseBinary(binary);
  const container = (await buildah(['from', 'scratch'])).trim();
  try {
    await buildah(['copy', '--quiet', container, binary, '/pause']);
    await buildah([
      'config',
      '--entrypoint',
      '["/pause"]',
      '--cmd',
      '',
      '--user',
      PAUSE_USER,
      container,
    ]);
    const id = (await buildah(['commit', '--quiet', '--rm', container, name])).trim();
    await pushArchive(name, archivePath(tempDir));
    writeImageRecord(tempDir, { name, id }, { version: PAUSE_VERSION });
    log(`  ${name} built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    await buildah(['rm', container]).catch(() => undefined);
    throw error;
  }
}

/**
 * The sandbox image: its name (for containerd's `sandbox_image`) and its OCI archive (for
 * `ctr images import`). Built once per PAUSE_VERSION; the binary stays next to the archive.
 */
export async function ensurePauseImage(
  log: (line: string) => void = console.log,
): Promise<ImageRecord & { binary: string }> {
  const name = pauseImageName(PAUSE_VERSION);
  const dir = await ensureCachedDir(
    `pause-${PAUSE_VERSION}`,
    (tempDir) => buildPauseImage(tempDir, name, log),
    { cacheDir: IMAGES_DIR },
  );
  return { ...readImageRecord(dir), binary: path.join(dir, 'pause') };
}
