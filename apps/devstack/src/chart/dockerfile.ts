// Replays a Dockerfile's build steps without a Docker engine: each stage gets a folder standing in
// for its root file system, COPY copies from the build context (minus .dockerignore) or an earlier
// stage, RUN runs the command in the stage's WORKDIR on this machine. The base image itself is
// not reproduced: the caller runs the result with the same Node major the FROM line names.
// Enough of the format for this project's Dockerfile; anything else is refused, never skipped.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface DockerfileBuildOptions {
  dockerfile: string;
  context: string;
  buildArgs: Record<string, string>;
  /** Empty folder that receives one sub-folder per stage. */
  outDir: string;
  /** Extra environment for RUN steps (e.g. PATH with the Node version the image has). */
  runEnv?: Record<string, string>;
}

export interface BuiltImage {
  /** The final stage's root file system. */
  root: string;
  /** FROM of the final stage, e.g. node:24-alpine (build args expanded). */
  baseImage: string;
  workdir: string;
  env: Record<string, string>;
  user: string | undefined;
  entrypoint: string[];
  cmd: string[];
}

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  name: string | undefined;
  root: string;
  baseImage: string;
  workdir: string;
  args: Record<string, string>;
  env: Record<string, string>;
  user: string | undefined;
  entrypoint: string[];
  cmd: string[];
}

export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending !== '' && line.startsWith('#')) return; // comments inside a continued line
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = pending + line;
    pending = '';
    const match = /^(\S+)\s*(.*)$/.exec(full);
    if (!match?.[1]) return;
    instructions.push({ keyword: match[1].toUpperCase(), args: match[2] ?? '', line: startLine });
  });
  return instructions;
}

function expand(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? '';
    return vars[name] ?? '';
  });
}

/** Leading `--name=value` flags of COPY and RUN. */
function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (;;) {
    const match = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest);
    if (!match?.[1]) return { flags, rest };
    flags[match[1]] = match[2] ?? '';
    rest = rest.slice(match[0].length);
  }
}

function execForm(args: string): string[] {
  const trimmed = args.trim();
  if (!trimmed.startsWith('[')) return ['/bin/sh', '-c', trimmed];
  return JSON.parse(trimmed) as string[];
}

function dockerignore(context: string): (relative: string) => boolean {
  const file = path.join(context, '.dockerignore');
  if (!existsSync(file)) return () => false;
  const patterns = readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (patterns.some((p) => p.startsWith('!'))) {
    throw new Error('.dockerignore exceptions (!pattern) are not supported by this replay');
  }
  return (relative) => {
    const parts = relative.split('/');
    // A path is excluded when it or any folder above it matches.
    return parts.some((_, i) => {
      const prefix = parts.slice(0, i + 1).join('/');
      return patterns.some((p) => path.matchesGlob(prefix, p.replace(/^\/+|\/+$/g, '')));
    });
  };
}

async function run(command: string[], cwd: string, env: Record<string, string>): Promise<void> {
  const child = spawn(command[0] ?? '', command.slice(1), {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) {
    throw new Error(`RUN ${command.join(' ')} failed (exit ${code ?? 'signal'}):\n${output}`);
  }
}

/** Replays the Dockerfile's stages and returns the final one. */
export async function buildDockerfile(options: DockerfileBuildOptions): Promise<BuiltImage> {
  const instructions = parseDockerfile(readFileSync(options.dockerfile, 'utf8'));
  const ignored = dockerignore(options.context);
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  let stage: Stage | undefined;

  const inStage = (i: Instruction): Stage => {
    if (!stage) throw new Error(`Dockerfile line ${i.line}: ${i.keyword} before FROM`);
    return stage;
  };
  const vars = (s: Stage) => ({ ...s.args, ...s.env });
  const inRoot = (s: Stage, target: string) =>
    path.join(s.root, path.posix.isAbsolute(target) ? target : path.posix.join(s.workdir, target));

  for (const i of instructions) {
    switch (i.keyword) {
      case 'ARG': {
        const [name = '', fallback] = i.args.split('=', 2);
        const value = options.buildArgs[name] ?? fallback ?? globalArgs[name] ?? '';
        if (stage) stage.args[name] = value;
        else globalArgs[name] = value;
        break;
      }
      case 'FROM': {
        const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args.trim());
        if (!match?.[1]) throw new Error(`Dockerfile line ${i.line}: cannot read FROM ${i.args}`);
        const root = path.join(options.outDir, `stage-${stages.length}`);
        mkdirSync(root, { recursive: true });
        stage = {
          name: match[2],
          root,
          baseImage: expand(match[1], globalArgs),
          workdir: '/',
          args: {},
          env: {},
          user: undefined,
          entrypoint: [],
          cmd: [],
        };
        stages.push(stage);
        break;
      }
      case 'WORKDIR': {
        const s = inStage(i);
        s.workdir = path.posix.resolve(s.workdir, expand(i.args.trim(), vars(s)));
        mkdirSync(path.join(s.root, s.workdir), { recursive: true });
        break;
      }
      case 'ENV': {
        const s = inStage(i);
        const match = /^(\w+)[= ](.*)$/.exec(i.args.trim());
        if (!match?.[1]) throw new Error(`Dockerfile line ${i.line}: cannot read ENV ${i.args}`);
        s.env[match[1]] = expand(match[2] ?? '', vars(s));
        break;
      }
      case 'COPY': {
        const s = inStage(i);
        const { flags, rest } = splitFlags(i.args);
        const parts = expand(rest, vars(s)).trim().split(/\s+/);
        const dest = parts.pop() ?? '';
        if (parts.length === 0) throw new Error(`Dockerfile line ${i.line}: COPY without source`);
        const from =
          flags.from === undefined ? undefined : stages.find((x) => x.name === flags.from);
        if (flags.from !== undefined && !from) {
          throw new Error(`Dockerfile line ${i.line}: no stage named ${flags.from}`);
        }
        const target = inRoot(s, dest);
        const intoFolder = dest.endsWith('/') || parts.length > 1;
        for (const source of parts) {
          if (/[*?[]/.test(source)) {
            throw new Error(
              `Dockerfile line ${i.line}: COPY globs are not supported by this replay`,
            );
          }
          const sourcePath = from
            ? inRoot(from, source)
            : path.join(options.context, path.posix.normalize(source));
          if (!from && ignored(path.posix.normalize(source))) {
            throw new Error(`Dockerfile line ${i.line}: ${source} is excluded by .dockerignore`);
          }
          if (!existsSync(sourcePath)) {
            throw new Error(`Dockerfile line ${i.line}: COPY source ${source} does not exist`);
          }
          const isFolder = statSync(sourcePath).isDirectory();
          const destination =
            !isFolder && intoFolder ? path.join(target, path.basename(sourcePath)) : target;
          mkdirSync(isFolder ? destination : path.dirname(destination), { recursive: true });
          cpSync(sourcePath, destination, {
            recursive: true,
            verbatimSymlinks: true,
            filter: (file) => {
              if (from) return true;
              const relative = path.relative(options.context, file).split(path.sep).join('/');
              return relative === '' || !ignored(relative);
            },
          });
        }
        break;
      }
      case 'RUN': {
        const s = inStage(i);
        // --mount=type=cache only speeds up Docker builds; the replay uses the machine's caches.
        const { rest } = splitFlags(i.args);
        await run(execForm(rest), path.join(s.root, s.workdir), {
          ...options.runEnv,
          ...s.args,
          ...s.env,
        });
        break;
      }
      case 'USER':
        inStage(i).user = i.args.trim();
        break;
      case 'ENTRYPOINT':
        inStage(i).entrypoint = execForm(i.args);
        break;
      case 'CMD':
        inStage(i).cmd = execForm(i.args);
        break;
      case 'EXPOSE':
      case 'LABEL':
        break;
      default:
        throw new Error(`Dockerfile line ${i.line}: ${i.keyword} is not supported by this replay`);
    }
  }
  const last = stages.at(-1);
  if (!last) throw new Error('Dockerfile has no FROM');
  return {
    root: last.root,
    baseImage: last.baseImage,
    workdir: last.workdir,
    env: last.env,
    user: last.user,
    entrypoint: last.entrypoint,
    cmd: last.cmd,
  };
}
