/**
 * The detection engine in plain Node (issue 16): µs per KB of benign text with every pack on
 * (target ≤ 50 µs/KB), and scan time of adversarial inputs from 1 KB to 1 MB, which must grow
 * linearly (the µs/KB column stays flat).
 *
 *   node bench/inspection.bench.ts [--quick]     (through npm/npx so Node 22 strips the types)
 *
 * Benign text is the benign samples of test/corpora/detections/ (prose, code, SQL, paths,
 * numbers), concatenated and repeated to 1, 16 and 64 KB; each scan is one `scan(text, 'prompt')`.
 * The added latency of inspection on the gateway path is bench/inspection.gateway.bench.ts.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { registerTsResolve } from './lib/ts-resolve.ts';

registerTsResolve();
const { builtinRules, builtinPacks } = await import('../workers/inspection/inspection.builtin.ts');
const { compileRules } = await import('../workers/inspection/inspection.engine.ts');

/** One benign size: wall-clock µs/KB (median scan) and CPU µs/KB (this process's CPU time per scan). */
export interface BenignRow {
  kb: number;
  usPerKb: number;
  cpuUsPerKb: number;
}

export interface InspectionBenchResult {
  rules: number;
  /** 64 KB of benign text (kept for older readers of latest.json). */
  benign: { kb: number; usPerKb: number; cpuUsPerKb: number; findingsMediumPlus: number };
  /** 1, 16 and 64 KB of benign text, every pack on. */
  benignSizes: BenignRow[];
  adversarial: Array<{ input: string; kb: number; ms: number; usPerKb: number }>;
}

const CORPORA = path.resolve(import.meta.dirname, '../test/corpora/detections');

function benignText(bytes: number): string {
  const samples: string[] = [];
  for (const file of readdirSync(CORPORA).filter((f) => f.endsWith('.json'))) {
    const corpus = JSON.parse(readFileSync(path.join(CORPORA, file), 'utf8')) as {
      benign: Array<string | { text: string }>;
    };
    for (const s of corpus.benign) samples.push(typeof s === 'string' ? s : s.text);
  }
  const unit = samples.join('\n');
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
}

const fill = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
/** Inputs chosen to be slow; bench/inspection.ab.ts `--adversarial` times two engines on them. */
export const ADVERSARIAL: Record<string, (size: number) => string> = {
  'literal storm': (n) => fill('ignore union select ../ <script eyJ ${ ', n),
  digits: (n) => fill('4111 1111 1111 111', n),
  'open quotes': (n) => fill("' or '", n),
  'base64 of attacks': (n) => fill(`${btoa("1' UNION SELECT password FROM users--")} `, n),
  'zero-width + homoglyphs': (n) => fill('p\u0430y\u200bpal ', n),
  'one letter': (n) => 'a'.repeat(n),
  // Glued values (docs/detections.md#glued-values): one run the size of the input to widen and merge.
  'glued addresses': (n) => fill('a@bb.cc+', n),
  'glued a@b.c+': (n) => fill('a@b.c+', n),
  'addresses in word runs': (n) => fill(`a@bb.co${'x'.repeat(60)}`, n),
  'glued phones': (n) => fill('+14155550123', n),
  'glued keys': (n) => fill('ghp_ZNPMgTZ4hyW40P9BHK2z9cRcTA6g5SpU8qxrAKIAZ7Q4RXW2LM5PT3NB', n),
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function time(fn: () => void, runs: number): number {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

/**
 * Wall-clock medians include the time the scan waited for a CPU, which on a shared machine is
 * most of it; the CPU time of the process over the same scans (user + system, all its threads —
 * the garbage collector's helpers included) is what the scan costs. Both are reported.
 */
function benignRow(engine: ReturnType<typeof compileRules>, bytes: number, quick: boolean): BenignRow {
  const text = benignText(bytes);
  const runs = Math.max(quick ? 20 : 60, Math.round(((quick ? 2 : 6) * 1024 * 1024) / bytes));
  for (let i = 0; i < Math.min(runs, 20); i++) engine.scan(text, 'prompt'); // warm up the JIT
  const wallMs = time(() => engine.scan(text, 'prompt'), runs);
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) engine.scan(text, 'prompt');
  const cpu = process.cpuUsage(cpu0);
  const kb = bytes / 1024;
  return { kb, usPerKb: (wallMs * 1000) / kb, cpuUsPerKb: (cpu.user + cpu.system) / runs / kb };
}

export function runInspectionBench(
  quick: boolean,
  log: (m: string) => void = console.log,
): InspectionBenchResult {
  const engine = compileRules(builtinRules(), [...builtinPacks().values()]);
  const benignSizes = [1, 16, 64].map((kb) => benignRow(engine, kb * 1024, quick));
  const at64 = benignSizes[2]!;
  const mediumPlus = engine.scan(benignText(64 * 1024), 'prompt').filter((f) => f.severity !== 'low').length;
  const result: InspectionBenchResult = {
    rules: engine.ruleCount,
    benign: { kb: 64, usPerKb: at64.usPerKb, cpuUsPerKb: at64.cpuUsPerKb, findingsMediumPlus: mediumPlus },
    benignSizes,
    adversarial: [],
  };
  log(`inspection: ${engine.ruleCount} rules (every pack), benign text:`);
  for (const row of benignSizes)
    log(
      `  ${String(row.kb).padStart(3)} KB  ${row.usPerKb.toFixed(1).padStart(7)} µs/KB wall (median)  ${row.cpuUsPerKb.toFixed(1).padStart(7)} µs/KB CPU`,
    );
  const sizes = quick ? [1, 16, 256, 1024] : [1, 4, 16, 64, 256, 1024];
  for (const [name, make] of Object.entries(ADVERSARIAL)) {
    for (const kb of sizes) {
      const text = make(kb * 1024);
      engine.scan(text, 'args');
      const ms = time(() => engine.scan(text, 'args'), kb >= 256 ? (quick ? 1 : 3) : quick ? 3 : 9);
      result.adversarial.push({ input: name, kb, ms, usPerKb: (ms * 1000) / kb });
      log(
        `  ${name.padEnd(24)} ${String(kb).padStart(5)} KB  ${ms.toFixed(2).padStart(9)} ms  ${((ms * 1000) / kb).toFixed(1).padStart(8)} µs/KB`,
      );
    }
  }
  return result;
}

/**
 * The engine measured in a process of its own (`npm run bench` runs it so): the suites before it
 * (the policy suite compiles 10,000-rule policies) leave the bench process a large heap and a
 * sampler thread, whose garbage collection and CPU `process.cpuUsage` would charge to the scans —
 * in the same run, µs/KB at 16 KB read ~57 after the policy suite against ~44 alone. The result
 * comes back as JSON on stdout; the log lines on stderr.
 */
export function runInspectionBenchIsolated(
  quick: boolean,
  log: (m: string) => void,
): Promise<InspectionBenchResult> {
  const args = [import.meta.filename, '--json', ...(quick ? ['--quick'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => {
    err += d;
    const lines = err.split('\n');
    err = lines.pop() ?? '';
    for (const line of lines) log(line);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(out) as InspectionBenchResult);
      else reject(new Error(`inspection bench exited with ${code}: ${err}`));
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const asJson = process.argv.includes('--json');
  const result = runInspectionBench(
    process.argv.includes('--quick'),
    asJson ? (m) => console.error(m) : console.log,
  );
  if (asJson) process.stdout.write(JSON.stringify(result));
}
