/**
 * The detection engine in plain Node (issue 16): µs per KB of benign text with every pack on
 * (target ≤ 50 µs/KB), and scan time of adversarial inputs from 1 KB to 1 MB, which must grow
 * linearly (the µs/KB column stays flat).
 *
 *   node bench/inspection.bench.ts [--quick]     (through npm/npx so Node 22 strips the types)
 *
 * Benign text is the benign samples of test/corpora/detections/ (prose, code, SQL, paths,
 * numbers), concatenated and repeated to 64 KB; each scan is one `scan(text, 'prompt')`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { registerTsResolve } from './lib/ts-resolve.ts';

registerTsResolve();
const { builtinRules, builtinPacks } = await import('../workers/inspection/inspection.builtin.ts');
const { compileRules } = await import('../workers/inspection/inspection.engine.ts');

export interface InspectionBenchResult {
  rules: number;
  benign: { kb: number; usPerKb: number; findingsMediumPlus: number };
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
const ADVERSARIAL: Record<string, (size: number) => string> = {
  'literal storm': (n) => fill('ignore union select ../ <script eyJ ${ ', n),
  digits: (n) => fill('4111 1111 1111 111', n),
  'open quotes': (n) => fill("' or '", n),
  'base64 of attacks': (n) => fill(`${btoa("1' UNION SELECT password FROM users--")} `, n),
  'zero-width + homoglyphs': (n) => fill('p\u0430y\u200bpal ', n),
  'one letter': (n) => 'a'.repeat(n),
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

export function runInspectionBench(
  quick: boolean,
  log: (m: string) => void = console.log,
): InspectionBenchResult {
  const engine = compileRules(builtinRules(), [...builtinPacks().values()]);
  const benign = benignText(64 * 1024);
  for (let i = 0; i < 5; i++) engine.scan(benign, 'prompt'); // warm up the JIT
  const benignMs = time(() => engine.scan(benign, 'prompt'), quick ? 5 : 25);
  const mediumPlus = engine.scan(benign, 'prompt').filter((f) => f.severity !== 'low').length;
  const result: InspectionBenchResult = {
    rules: engine.ruleCount,
    benign: {
      kb: benign.length / 1024,
      usPerKb: (benignMs * 1000) / (benign.length / 1024),
      findingsMediumPlus: mediumPlus,
    },
    adversarial: [],
  };
  log(
    `inspection: ${engine.ruleCount} rules (every pack); benign ${result.benign.kb} KB: ${result.benign.usPerKb.toFixed(1)} µs/KB`,
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

if (import.meta.url === `file://${process.argv[1]}`) {
  runInspectionBench(process.argv.includes('--quick'));
}
