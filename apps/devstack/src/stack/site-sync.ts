import { watch } from 'node:fs';
import { simulatorEnv, type Site } from '@telemetrypulse/shared';
import { loadSites } from '../sites.ts';

/** The environment a site's simulator runs with; a change of it means a restart. */
export type SimulatorSpec = Record<string, string>;

/** What the running simulators must do to match the manifests, as the operator would. */
export interface SimulatorPlan {
  start: Site[];
  restart: Site[];
  stop: string[];
}

/** One simulator per Site that is not paused. */
export function planSimulators(
  running: ReadonlyMap<string, SimulatorSpec>,
  sites: readonly Site[],
): SimulatorPlan {
  const wanted = sites.filter((site) => !site.spec.paused);
  const wantedIds = new Set(wanted.map((site) => site.siteId));
  const plan: SimulatorPlan = { start: [], restart: [], stop: [] };
  for (const site of wanted) {
    const current = running.get(site.siteId);
    if (!current) plan.start.push(site);
    else if (JSON.stringify(current) !== JSON.stringify(simulatorEnv(site)))
      plan.restart.push(site);
  }
  plan.stop = [...running.keys()].filter((id) => !wantedIds.has(id)).sort();
  return plan;
}

/**
 * Calls `onSites` with every Site in `dir` whenever a manifest there changes (after `quietMs` of
 * no further change, since editors write a file in several steps); a folder that does not parse
 * goes to `onError` and changes nothing. Returns a function that stops watching.
 */
export function watchSites(
  dir: string,
  onSites: (sites: Site[]) => void,
  onError: (error: Error) => void,
  quietMs = 300,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  // The folder, not the files: editors that save by rename replace the file being watched.
  const watcher = watch(dir, (_event, file) => {
    if (file !== null && !/\.ya?ml$/.test(file)) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      try {
        onSites(loadSites(dir));
      } catch (error) {
        onError(error instanceof Error ? error : new Error(String(error)));
      }
    }, quietMs);
  });
  watcher.on('error', onError);
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
