// What an app image's build reads, as one hash: the Dockerfile and .dockerignore, every file its
// COPY steps take from the build context (read from the Dockerfile itself, build args expanded,
// .dockerignore applied), the build args and the base image's ID. Same hash, same image.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { parseDockerfile } from '../chart/dockerfile.ts';

function expand(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced?: string, bare?: string) => {
    return vars[braced ?? bare ?? ''] ?? '';
  });
}

/** Leading `--name=value` flags of an instruction, and the rest. */
function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args.trim();
  for (;;) {
    const match = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest);
    if (!match?.[1]) return { flags, rest };
    flags[match[1]] = match[2] ?? '';
    rest = rest.slice(match[0].length);
  }
}

/**
 * The build-context paths the Dockerfile's COPY and ADD steps read (not those copying from a
 * stage), in the order they appear, build args (or the ARG defaults) expanded.
 */
export function contextSources(dockerfile: string, buildArgs: Record<string, string>): string[] {
  const vars: Record<string, string> = {};
  const sources: string[] = [];
  for (const { keyword, args, line } of parseDockerfile(dockerfile)) {
    if (keyword === 'ARG') {
      const [name = '', fallback] = args.trim().split('=', 2);
      vars[name] = buildArgs[name] ?? fallback ?? vars[name] ?? '';
    } else if (keyword === 'ENV') {
      const match = /^(\w+)[= ](.*)$/.exec(args.trim());
      if (match?.[1]) vars[match[1]] = expand(match[2] ?? '', vars);
    } else if (keyword === 'COPY' || keyword === 'ADD') {
      const { flags, rest } = splitFlags(args);
      if (flags.from !== undefined) continue;
      const parts = rest.startsWith('[')
        ? (JSON.parse(rest) as string[])
        : expand(rest, vars).trim().split(/\s+/);
      parts.pop(); // the destination
      if (parts.length === 0) throw new Error(`Dockerfile line ${line}: ${keyword} without source`);
      for (const part of parts) {
        if (/^[a-z]+:\/\//.test(part)) {
          throw new Error(`Dockerfile line ${line}: URL sources cannot be hashed`);
        }
        sources.push(path.posix.normalize(expand(part, vars)).replace(/^\/+|\/+$/g, '') || '.');
      }
    }
  }
  return sources;
}

/**
 * .dockerignore as Docker reads it: patterns relative to the context root, `**` across folders,
 * a path is excluded when it or a folder above it matches, the last matching pattern decides and
 * `!pattern` takes a path back in.
 */
export function dockerignoreMatcher(text: string): (relative: string) => boolean {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = path.posix
        .normalize((negate ? line.slice(1) : line).trim())
        .replace(/^\/+|\/+$/g, '');
      return { negate, pattern };
    });
  return (relative) => {
    const parts = relative.split('/');
    let excluded = false;
    for (const { negate, pattern } of rules) {
      const matches = parts.some((_, i) =>
        path.matchesGlob(parts.slice(0, i + 1).join('/'), pattern),
      );
      if (matches) excluded = !negate;
    }
    return excluded;
  };
}

/** Every file (and symbolic link) under the sources that the build context holds, sorted. */
export function contextFiles(
  context: string,
  sources: readonly string[],
  ignored: (relative: string) => boolean,
): string[] {
  const files = new Set<string>();
  const visit = (relative: string) => {
    if (relative !== '.' && ignored(relative)) return;
    const absolute = path.join(context, relative);
    const stat = lstatSync(absolute);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(absolute)) {
        visit(relative === '.' ? entry : `${relative}/${entry}`);
      }
    } else {
      files.add(relative);
    }
  };
  for (const source of sources) {
    if (/[*?[]/.test(source)) throw new Error(`COPY globs are not hashed: ${source}`);
    if (!existsSync(path.join(context, source))) {
      throw new Error(`the build context has no ${source}`);
    }
    visit(source);
  }
  return [...files].sort();
}

/** One line per file: path, kind (file, executable, link) and the content's digest. */
function fileDigest(context: string, relative: string): string {
  const absolute = path.join(context, relative);
  const stat = lstatSync(absolute);
  if (stat.isSymbolicLink()) return `${relative}\0l\0${readlinkSync(absolute)}`;
  const kind = stat.mode & 0o111 ? 'x' : 'f';
  const digest = createHash('sha256').update(readFileSync(absolute)).digest('hex');
  return `${relative}\0${kind}\0${digest}`;
}

/** sha256 over the files' digests and the named values (build args, base image ID, ...). */
export function hashInputs(
  context: string,
  files: readonly string[],
  values: Record<string, string>,
): string {
  const hash = createHash('sha256');
  for (const [name, value] of Object.entries(values).sort(([a], [b]) => a.localeCompare(b))) {
    hash.update(`value\0${name}\0${value}\n`);
  }
  for (const file of [...files].sort()) hash.update(`file\0${fileDigest(context, file)}\n`);
  return hash.digest('hex');
}

export interface BuildInputs {
  /** Context-relative files the build reads: Dockerfile, .dockerignore and the COPY sources. */
  files: string[];
  hash: string;
}

/** The inputs of `buildah bud -f DOCKERFILE --build-arg ... CONTEXT` on top of a base image. */
export function buildInputs(options: {
  context: string;
  dockerfile: string;
  buildArgs: Record<string, string>;
  baseImageId: string;
}): BuildInputs {
  const { context } = options;
  const ignoreFile = path.join(context, '.dockerignore');
  const ignoreText = existsSync(ignoreFile) ? readFileSync(ignoreFile, 'utf8') : '';
  const sources = contextSources(readFileSync(options.dockerfile, 'utf8'), options.buildArgs);
  const files = contextFiles(context, sources, dockerignoreMatcher(ignoreText));
  const buildFiles = [path.relative(context, options.dockerfile).split(path.sep).join('/')];
  if (ignoreText !== '') buildFiles.push('.dockerignore');
  const all = [...new Set([...buildFiles, ...files])].sort();
  const values: Record<string, string> = { baseImageId: options.baseImageId };
  for (const [name, value] of Object.entries(options.buildArgs)) values[`arg:${name}`] = value;
  return { files: all, hash: hashInputs(context, all, values) };
}
