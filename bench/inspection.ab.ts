/**
 * Two versions of the detection engine on the benign text of bench/inspection.bench.ts, in one
 * process, alternating: on a shared machine the load moves between runs of separate processes by
 * more than most changes to the engine, while two engines timed turn by turn see the same load.
 *
 *   git archive <commit> workers/inspection test/corpora | tar -x -C /tmp/before
 *   ln -s "$PWD/node_modules" /tmp/before/node_modules
 *   npx node bench/inspection.ab.ts /tmp/before . [--reps 15] [--sizes 1,16,64] [--adversarial]
 *
 * `--adversarial`: the adversarial inputs of bench/inspection.bench.ts (of this checkout) instead of
 * the benign text, each at every size, scanned as `args` as that bench does.
 *
 * Prints, per size and version, the minimum, first quartile and median over the rounds of CPU µs
 * per KB (this process's user + system time over a batch of scans). The minimum and the first
 * quartile are the least disturbed by other processes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { registerTsResolve } from './lib/ts-resolve.ts';

registerTsResolve();

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] ? args.splice(at, 2)[1]! : fallback;
};
const adversarial = args.includes('--adversarial');
if (adversarial) args.splice(args.indexOf('--adversarial'), 1);
const reps = Number(option('--reps', '15'));
const sizes = option('--sizes', '1,16,64').split(',').map(Number);
const roots = args.map((dir) => path.resolve(dir));
if (roots.length !== 2)
  throw new Error('usage: inspection.ab.ts <checkout A> <checkout B> [--reps n] [--sizes kb,…]');

/** The benign samples of test/corpora/detections, concatenated and repeated to `bytes`. */
function benignText(root: string, bytes: number): string {
  const dir = path.join(root, 'test/corpora/detections');
  const samples: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const corpus = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as {
      benign: Array<string | { text: string }>;
    };
    for (const s of corpus.benign) samples.push(typeof s === 'string' ? s : s.text);
  }
  const unit = samples.join('\n');
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
}

const engines: Array<{ scan(text: string, where: 'prompt' | 'args'): unknown }> = [];
for (const root of roots) {
  const { builtinRules, builtinPacks } = await import(
    path.join(root, 'workers/inspection/inspection.builtin.ts')
  );
  const { compileRules } = await import(path.join(root, 'workers/inspection/inspection.engine.ts'));
  engines.push(compileRules(builtinRules(), [...builtinPacks().values()]));
}

/** The texts timed: the benign text, or each adversarial input, at each size. */
const inputs: Array<{ name: string; make: (bytes: number) => string; where: 'prompt' | 'args' }> = adversarial
  ? Object.entries((await import('./inspection.bench.ts')).ADVERSARIAL).map(([name, make]) => ({
      name,
      make,
      where: 'args' as const,
    }))
  : [{ name: '', make: (bytes) => benignText(roots[0]!, bytes), where: 'prompt' }];

const samples = new Map<string, number[]>();
for (let round = 0; round < reps; round++)
  for (const input of inputs)
    for (const kb of sizes) {
      const text = input.make(kb * 1024);
      const scans = Math.max(adversarial ? 2 : 20, Math.round(4096 / kb));
      engines.forEach((engine, k) => {
        for (let i = 0; i < Math.min(10, scans); i++) engine.scan(text, input.where);
        const cpu0 = process.cpuUsage();
        for (let i = 0; i < scans; i++) engine.scan(text, input.where);
        const cpu = process.cpuUsage(cpu0);
        const key = `${input.name}|${kb}|${k}`;
        samples.set(key, [...(samples.get(key) ?? []), (cpu.user + cpu.system) / scans / kb]);
      });
    }

for (const input of inputs)
  for (const kb of sizes)
    roots.forEach((root, k) => {
      const xs = [...samples.get(`${input.name}|${kb}|${k}`)!].sort((a, b) => a - b);
      const at = (q: number) => xs[Math.floor(q * (xs.length - 1))]!.toFixed(1).padStart(6);
      console.log(
        `${input.name ? `${input.name.padEnd(24)} ` : ''}${String(kb).padStart(4)} KB  ${'AB'[k]} ${at(0)} min ${at(0.25)} q1 ${at(0.5)} median  µs/KB CPU  ${root}`,
      );
    });
