/**
 * Processes and cores: finding workerd under the runtime's process tree (scripts/runtime.ts), pinning processes to cores
 * with taskset (so the load generator, the gateway and the upstream do not fight unseen), and
 * describing the machine for the results file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';

interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
}

function readProc(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may contain spaces: split after the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    return { pid, ppid: Number(fields[1]), comm };
  } catch {
    return null;
  }
}

/** Every descendant of `root` (not including it), with its command name. */
export function descendants(root: number): ProcInfo[] {
  const all: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = readProc(Number(entry));
    if (info) all.push(info);
  }
  const out: ProcInfo[] = [];
  const frontier = [root];
  while (frontier.length) {
    const parent = frontier.pop()!;
    for (const p of all) {
      if (p.ppid === parent) {
        out.push(p);
        frontier.push(p.pid);
      }
    }
  }
  return out;
}

let clockTicks: number | null = null;

/** CPU time (user + system) a process has used so far, in ms; 0 when it is gone. */
export function cpuMs(pid: number): number {
  clockTicks ??= Number(cmd('getconf', ['CLK_TCK'])) || 100;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state is field 0, utime field 11, stime field 12.
    return ((Number(fields[11]) + Number(fields[12])) / clockTicks) * 1000;
  } catch {
    return 0;
  }
}

export interface CpuGroups {
  [group: string]: number[];
}

/** CPU ms used by each group of processes between two calls of the returned function. */
export function cpuMeter(groups: CpuGroups): () => Record<string, number> {
  const read = () =>
    Object.fromEntries(
      Object.entries(groups).map(([g, pids]) => [g, pids.reduce((a, p) => a + cpuMs(p), 0)]),
    );
  const before = read();
  return () => {
    const after = read();
    return Object.fromEntries(Object.keys(groups).map((g) => [g, after[g]! - before[g]!]));
  };
}

export function hasTaskset(): boolean {
  return spawnSync('taskset', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** Pins every thread of `pid` to `cpus` (e.g. "1" or "0,2"). Returns false when it could not. */
export function pin(pid: number, cpus: string): boolean {
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { encoding: 'utf8' });
  return r.status === 0;
}

export interface Placement {
  pinned: boolean;
  why: string;
  loadGenerator: string;
  upstream: string;
  workerd: string;
}

/**
 * Where each process goes. Two cores: workerd alone on core 1, the upstream and the load generator
 * share core 0 (the gateway is what is measured, so it gets a core of its own). Three or more:
 * each gets its own.
 */
export function planPlacement(): Placement {
  const cpus = os.cpus().length;
  if (cpus < 2) return { pinned: false, why: 'one core', loadGenerator: '-', upstream: '-', workerd: '-' };
  if (!hasTaskset())
    return { pinned: false, why: 'taskset missing', loadGenerator: '-', upstream: '-', workerd: '-' };
  const last = String(cpus - 1);
  if (cpus === 2) return { pinned: true, why: '2 cores', loadGenerator: '0', upstream: '0', workerd: last };
  return { pinned: true, why: `${cpus} cores`, loadGenerator: '0', upstream: '1', workerd: last };
}

/**
 * Samples, every `intervalMs`, the CPU used by processes that are not ours (not this process or
 * its descendants): the noise other work on the machine adds to the figures, in cores (1 = one
 * core fully busy). Runs on a worker thread so the /proc scans never stall the load generator's
 * event loop.
 */
export function foreignCpuSampler(intervalMs = 2_000): {
  stop(): Promise<{ meanCores: number; maxCores: number }>;
} {
  const code = `
    const { readdirSync, readFileSync } = require('node:fs');
    const { parentPort, workerData } = require('node:worker_threads');
    const { root, intervalMs, tick } = workerData;
    function scan() {
      const procs = new Map();
      for (const e of readdirSync('/proc')) {
        if (!/^\\d+$/.test(e)) continue;
        try {
          const s = readFileSync('/proc/' + e + '/stat', 'utf8');
          const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
          procs.set(Number(e), { ppid: Number(f[1]), ms: ((Number(f[11]) + Number(f[12])) / tick) * 1000 });
        } catch {}
      }
      const ours = new Set([root]);
      let grew = true;
      while (grew) {
        grew = false;
        for (const [pid, p] of procs) if (!ours.has(pid) && ours.has(p.ppid)) { ours.add(pid); grew = true; }
      }
      const out = new Map();
      for (const [pid, p] of procs) if (!ours.has(pid)) out.set(pid, p.ms);
      return out;
    }
    let previous = scan();
    let last = performance.now();
    const samples = [];
    const timer = setInterval(() => {
      const now = performance.now();
      const current = scan();
      let used = 0;
      for (const [pid, ms] of current) {
        const before = previous.get(pid);
        if (before !== undefined) used += Math.max(0, ms - before);
      }
      samples.push(used / (now - last));
      previous = current;
      last = now;
    }, intervalMs);
    parentPort.on('message', () => {
      clearInterval(timer);
      parentPort.postMessage(samples);
    });
  `;
  clockTicks ??= Number(cmd('getconf', ['CLK_TCK'])) || 100;
  const worker = new Worker(code, {
    eval: true,
    workerData: { root: process.pid, intervalMs, tick: clockTicks },
  });
  worker.unref();
  return {
    async stop() {
      const samples = await new Promise<number[]>((resolve) => {
        worker.once('message', (m: number[]) => resolve(m));
        worker.postMessage('stop');
      });
      await worker.terminate();
      const meanCores = samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : 0;
      return { meanCores, maxCores: samples.length ? Math.max(...samples) : 0 };
    },
  };
}

function cmd(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** Load average and the busiest other processes: the figures' context on a shared machine. */
export function machineLoad(): { loadavg: number[]; busiest: string[] } {
  const top = cmd('ps', ['-eo', 'pcpu,comm', '--sort=-pcpu', '--no-headers'])
    .split('\n')
    .slice(0, 5)
    .map((l) => l.trim())
    .filter(Boolean);
  return { loadavg: os.loadavg().map((v) => Math.round(v * 100) / 100), busiest: top };
}

export function machineInfo(root: string) {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? 'unknown',
    // os.cpus(), not availableParallelism(): the latter follows this (pinned) process's affinity.
    cores: cpus.length,
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    wrangler: cmd(`${root}/node_modules/.bin/wrangler`, ['--version']).split('\n').pop() ?? '',
    workerd: cmd(`${root}/node_modules/.bin/workerd`, ['--version']),
    commit: cmd('git', ['-C', root, 'rev-parse', '--short', 'HEAD']),
    dirty: cmd('git', ['-C', root, 'status', '--porcelain']).length > 0,
  };
}
