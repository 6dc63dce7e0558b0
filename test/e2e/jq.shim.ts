/**
 * `jq` for the documentation's shell examples on a machine that has none: the real jq (jq-wasm, jq's C
 * sources compiled to WebAssembly and shipped inside the npm package, so nothing is downloaded) behind
 * jq's own command line. test/e2e/docs.e2e.test.ts puts `jq` on PATH as `node jq.shim.ts "$@"` when the
 * system has no jq (or when IGRIS_DOCS_JQ=npm).
 *
 * jq in WebAssembly sees only its in-memory filesystem, so this process reads stdin or the named files
 * and hands jq their text, and turns `--rawfile`/`--slurpfile` into `--arg`/`--argjson`. jq itself parses
 * every other flag; its exit status (`-e`, compile and runtime errors) is this process's.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

interface JqModule {
  raw(input: string, filter: string, flags: string[]): Promise<string>;
}

const require = createRequire(import.meta.url);
const loadJq = require('jq-wasm/dist/build/jq.js') as () => Promise<JqModule>;

/** Options whose values this wrapper cannot hand to an in-memory jq (they name host paths or reorder args). */
const UNSUPPORTED = new Set(['-f', '--from-file', '-L', '--args', '--jsonargs', '--seq', '--stream']);

interface Invocation {
  flags: string[];
  filter: string;
  files: string[];
  nullInput: boolean;
  joinOutput: boolean;
}

async function parse(argv: string[]): Promise<Invocation> {
  const flags: string[] = [];
  const positionals: string[] = [];
  let nullInput = false;
  let joinOutput = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (UNSUPPORTED.has(arg)) throw new Error(`jq shim: ${arg} is not supported; install jq`);
    if (arg === '--arg' || arg === '--argjson') {
      flags.push(arg, argv[++i] ?? '', argv[++i] ?? '');
    } else if (arg === '--rawfile') {
      flags.push('--arg', argv[++i] ?? '', readFileSync(argv[++i] ?? '', 'utf8'));
    } else if (arg === '--slurpfile') {
      const name = argv[++i] ?? '';
      const slurped = await runJq(readFileSync(argv[++i] ?? '', 'utf8'), '.', ['-c', '-s']);
      flags.push('--argjson', name, slurped.output);
    } else if (arg === '--indent') {
      flags.push(arg, argv[++i] ?? '');
    } else if (arg.startsWith('--')) {
      if (arg === '--null-input') nullInput = true;
      if (arg === '--join-output') joinOutput = true;
      flags.push(arg);
    } else if (/^-[a-zA-Z]+$/.test(arg)) {
      // Short flags, possibly combined (`-er`); jq parses them, we only need -n and -j.
      if (arg.includes('n')) nullInput = true;
      if (arg.includes('j')) joinOutput = true;
      flags.push(arg);
    } else {
      positionals.push(arg);
    }
  }
  const [filter, ...files] = positionals;
  if (filter === undefined) throw new Error('jq shim: no filter given');
  return { flags, filter, files, nullInput, joinOutput };
}

/**
 * jq-wasm feeds jq its input one byte at a time, taking each with `buffer = buffer.slice(1)`: a copy of
 * the rest per byte, so quadratic — 5 s for the 230 KB OpenAPI document of docs/deployment.md. The
 * buffer is what `new TextEncoder().encode(input)` returned, so while jq reads, encode returns an array
 * whose one-argument slice is a view (subarray: same bytes, no copy). Nothing else changes: jq sees the
 * same bytes in the same order.
 */
class ViewSlices extends Uint8Array<ArrayBuffer> {
  override slice(start?: number, end?: number): Uint8Array<ArrayBuffer> {
    return start !== undefined && end === undefined ? this.subarray(start) : super.slice(start, end);
  }
}
class LinearInputEncoder extends TextEncoder {
  override encode(input?: string): Uint8Array<ArrayBuffer> {
    const bytes = super.encode(input);
    return new ViewSlices(bytes.buffer, bytes.byteOffset, bytes.length);
  }
}

async function withLinearInput<T>(run: () => Promise<T>): Promise<T> {
  const original = globalThis.TextEncoder;
  globalThis.TextEncoder = LinearInputEncoder;
  try {
    return await run();
  } finally {
    globalThis.TextEncoder = original;
  }
}

/** One jq run in a fresh module instance: its output and exit status. */
async function runJq(
  input: string,
  filter: string,
  flags: string[],
): Promise<{ output: string; status: number }> {
  const jq = await loadJq();
  // The Emscripten runtime reports jq's exit status through process.exitCode.
  process.exitCode = 0;
  try {
    const output = await withLinearInput(() => jq.raw(input, filter, flags));
    return { output, status: Number(process.exitCode ?? 0) };
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return { output: '', status: Number(process.exitCode) || 5 };
  }
}

async function main(): Promise<number> {
  const { flags, filter, files, nullInput, joinOutput } = await parse(process.argv.slice(2));
  const input =
    files.length > 0
      ? files.map((file) => readFileSync(file, 'utf8')).join('\n')
      : nullInput
        ? ''
        : readFileSync(0, 'utf8');
  const { output, status } = await runJq(input, filter, flags);
  // jq-wasm trims its output; jq ends every result with a newline unless -j.
  if (output !== '') process.stdout.write(joinOutput ? output : `${output}\n`);
  return status;
}

main().then(
  (status) => {
    process.exitCode = status;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
