import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseSite, SITE_KIND, type Site } from '@telemetrypulse/shared';

/** Every `Site` resource in the YAML files of a folder (the same manifests Kubernetes gets). */
export function loadSites(dir: string): Site[] {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const sites: Site[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0)
        throw new Error(`${file}: ${doc.errors[0]?.message ?? 'bad YAML'}`);
      const resource = doc.toJS() as { kind?: unknown } | null;
      if (resource?.kind !== SITE_KIND) continue;
      try {
        sites.push(parseSite(resource));
      } catch (error) {
        throw new Error(`${file}: ${(error as Error).message}`, { cause: error });
      }
    }
  }
  const ids = sites.map((s) => s.siteId);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice) throw new Error(`Site ${twice} is defined twice in ${dir}`);
  return sites;
}
