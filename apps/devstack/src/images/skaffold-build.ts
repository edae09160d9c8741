#!/usr/bin/env node
// skaffold's `custom` builder for the `local-node` profile (skaffold.yaml): builds the app that
// $IMAGE names from the Dockerfile (cached by content, like `make images`), loads it into the
// node of `make cluster` and gives it the name and tag skaffold chose. No registry is involved,
// so $PUSH_IMAGE must be false. The same steps run in `make e2e`'s dev-loop test.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureNodeBinaries } from '../node/binaries.ts';
import { NODE_PATHS } from '../node/layout.ts';
import { readNodeStatus } from '../node/status.ts';
import { buildImages, importImages } from './build.ts';
import { APPS, type App } from './names.ts';

export interface SkaffoldImage {
  app: App;
  /** The whole name skaffold expects to find: repository and tag. */
  image: string;
}

/** `localhost/telemetrypulse/api:1a2b` → the api app; anything else is refused. */
export function parseSkaffoldImage(image: string | undefined): SkaffoldImage {
  if (!image) throw new Error('IMAGE is not set: this script is run by skaffold');
  const match = /^(?<repository>[^:@]+(?::\d+)?(?:\/[^:@/]+)*):(?<tag>[\w][\w.-]{0,127})$/.exec(
    image,
  );
  const app = match?.groups?.repository?.split('/').pop();
  if (!app || !(APPS as readonly string[]).includes(app)) {
    throw new Error(`IMAGE ${image} names none of the apps (${APPS.join(', ')}) with a tag`);
  }
  return { app: app as App, image };
}

export async function skaffoldBuild(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const { app, image } = parseSkaffoldImage(env.IMAGE);
  if (env.PUSH_IMAGE === 'true') {
    throw new Error(
      'the local-node profile has no registry to push to: set build.local.push to false',
    );
  }
  if (readNodeStatus()?.state !== 'ready') throw new Error('no node is running: make cluster');
  const built = await buildImages({ apps: [app] });
  const { name, archive } = built.apps[app];
  await importImages([archive], { containerdAddress: NODE_PATHS.containerdSocket });
  // A new name for the same image: containerd sees it at once (only a replaced name is stale).
  const { ctr } = await ensureNodeBinaries();
  execFileSync(
    ctr,
    [
      '--address',
      NODE_PATHS.containerdSocket,
      '-n',
      'k8s.io',
      'images',
      'tag',
      '--force',
      name,
      image,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  console.log(`${image} is in the node (built as ${name})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  skaffoldBuild().catch((error: unknown) => {
    console.error(`skaffold-build: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
