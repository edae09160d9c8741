// Pure helpers for the throwaway Go module that builds a program whose own go.mod replaces its
// sibling modules with local folders (k8s.io/kubernetes → ./staging/src/k8s.io/*, etcd → ../api).
// `go install MODULE@VERSION` refuses such modules, so we require the module from a module of our
// own and replace each sibling with its published version instead.

const REPLACE_BLOCK = /^replace\s*\(([\s\S]*?)^\)/gm;
const REPLACE_LINE = /^replace[ \t]+([^\s(]\S*)(?:[ \t]+\S+)?[ \t]+=>[ \t]+(\S+)/gm;
const REQUIRE_BLOCK = /^require\s*\(([\s\S]*?)^\)/gm;
const REQUIRE_LINE = /^require[ \t]+([^\s(]\S*)[ \t]+\S+/gm;

function stripComments(goMod: string): string {
  return goMod.replace(/\/\/.*$/gm, '');
}

/** Module paths that the go.mod requires. */
export function requiredModules(goMod: string): Set<string> {
  const text = stripComments(goMod);
  const modules = new Set<string>();
  for (const block of text.matchAll(REQUIRE_BLOCK)) {
    for (const line of (block[1] ?? '').split('\n')) {
      const [module] = line.trim().split(/\s+/);
      if (module) modules.add(module);
    }
  }
  for (const line of text.matchAll(REQUIRE_LINE)) if (line[1]) modules.add(line[1]);
  return modules;
}

/**
 * The required modules that the go.mod replaces with a local folder: its siblings from the
 * same repository. Local replaces of modules it does not require (etcd's FORBIDDEN_DEPENDENCY
 * guards) are left out.
 */
export function locallyReplacedModules(goMod: string): string[] {
  const text = stripComments(goMod);
  const replaced: string[] = [];
  const add = (module: string | undefined, target: string | undefined) => {
    if (module && target && (target.startsWith('./') || target.startsWith('../'))) {
      replaced.push(module);
    }
  };
  for (const block of text.matchAll(REPLACE_BLOCK)) {
    for (const line of (block[1] ?? '').split('\n')) {
      const match = /^\s*(\S+)(?:\s+\S+)?\s+=>\s+(\S+)/.exec(line);
      add(match?.[1], match?.[2]);
    }
  }
  for (const match of text.matchAll(REPLACE_LINE)) add(match[1], match[2]);
  const required = requiredModules(goMod);
  return [...new Set(replaced)].filter((m) => required.has(m)).sort();
}

export interface ThrowawayModuleSpec {
  /** The module that holds the programs to build, e.g. k8s.io/kubernetes v1.34.4. */
  module: string;
  version: string;
  /** Its siblings and the published version each is replaced with. */
  replacements: Record<string, string>;
  /** The go directive; at least the built module's. */
  goVersion: string;
}

/** The go.mod text of the throwaway module. */
export function throwawayGoMod(spec: ThrowawayModuleSpec): string {
  const replaces = Object.entries(spec.replacements)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([module, version]) => `\t${module} => ${module} ${version}\n`)
    .join('');
  return (
    `module telemetrypulse.local/throwaway\n\ngo ${spec.goVersion}\n\n` +
    `require ${spec.module} ${spec.version}\n` +
    (replaces ? `\nreplace (\n${replaces})\n` : '')
  );
}

/** The go directive of a go.mod, e.g. "1.24.0". */
export function goDirective(goMod: string): string {
  const match = /^go\s+(\S+)/m.exec(stripComments(goMod));
  if (!match?.[1]) throw new Error('go.mod has no go directive');
  return match[1];
}
