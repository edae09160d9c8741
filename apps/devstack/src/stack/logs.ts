// `make logs`: the local stack's log files (one per process) as one stream, each line prefixed
// with the name of the process it came from, e.g. `[processor] {...}`.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import path from 'node:path';

/** The process a log file belongs to: `processor.log` → `processor`. */
export const logName = (file: string): string => path.basename(file).replace(/\.log$/, '');

/** `[name]` padded to the widest name, so the lines after it line up. */
export function prefixFor(name: string, width: number): string {
  return `[${name}]`.padEnd(width + 3);
}

/**
 * The whole lines at the start of what was read from a file, and how many bytes they take. An
 * unfinished last line is left for the next read (so it is never cut in two, nor a UTF-8
 * character).
 */
export function completeLines(bytes: Buffer): { lines: string[]; consumed: number } {
  const end = bytes.lastIndexOf(0x0a);
  if (end < 0) return { lines: [], consumed: 0 };
  const lines = bytes
    .subarray(0, end)
    .toString('utf8')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''));
  return { lines, consumed: end + 1 };
}

interface Followed {
  name: string;
  offset: number;
}

const TAIL_BYTES = 64 * 1024;

function readFrom(file: string, offset: number, end: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(end - offset);
    const read = readSync(fd, buffer, 0, buffer.length, offset);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

function logFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .map((f) => path.join(dir, f));
}

/**
 * Prints the last `lines` lines of every log file in `dir`, prefixed; with `follow`, then prints
 * what is appended (files that appear later included; a truncated file is read from its start)
 * until the process is stopped.
 */
export function showLogs(
  dir: string,
  options: { lines: number; follow: boolean; intervalMs?: number },
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): void {
  const followed = new Map<string, Followed>();
  let width = 0;
  const widen = (name: string) => {
    width = Math.max(width, name.length);
  };
  for (const file of logFiles(dir)) widen(logName(file));
  for (const file of logFiles(dir)) {
    const name = logName(file);
    const size = statSync(file).size;
    const start = Math.max(0, size - TAIL_BYTES);
    const { lines, consumed } = completeLines(readFrom(file, start, size));
    // A window that starts mid-file starts mid-line: that partial first line is dropped.
    const shown = (start > 0 ? lines.slice(1) : lines).slice(-Math.max(0, options.lines));
    for (const line of options.lines > 0 ? shown : []) write(`${prefixFor(name, width)}${line}`);
    followed.set(file, { name, offset: start + consumed });
  }
  if (!options.follow) return;
  const poll = () => {
    for (const file of logFiles(dir)) {
      if (!followed.has(file)) {
        followed.set(file, { name: logName(file), offset: 0 });
        widen(logName(file));
      }
    }
    for (const [file, f] of followed) {
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        continue;
      }
      if (size < f.offset) f.offset = 0;
      if (size === f.offset) continue;
      const { lines, consumed } = completeLines(readFrom(file, f.offset, size));
      f.offset += consumed;
      for (const line of lines) write(`${prefixFor(f.name, width)}${line}`);
    }
  };
  setInterval(poll, options.intervalMs ?? 250);
}
