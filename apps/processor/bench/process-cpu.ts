import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

function stat(pid: string): { ppid: string; ticks: number; reaped: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: fields[1] ?? '',
      ticks: Number(fields[11]) + Number(fields[12]),
      reaped: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (user + system) used so far by a process and its children: for PostgreSQL the
 * postmaster's backends, WAL writer, checkpointer and so on, the live ones from their own stat
 * and the ended ones (a backend whose connection closed) from the parent's reaped-children time,
 * else a backend ending mid-drain would take its CPU out of the sum. Linux only (/proc).
 */
export function cpuSeconds(pid: number): number {
  const root = String(pid);
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(entry);
    if (s && entry === root) ticks += s.ticks + s.reaped;
    else if (s && s.ppid === root) ticks += s.ticks;
  }
  return ticks / TICKS_PER_SECOND;
}

export function peakRssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}
