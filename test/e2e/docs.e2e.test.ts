/**
 * Every code example in docs/*.md runs here against the live local stack, so none can rot.
 *
 *   ```bash / ```sh   run with `bash -euo pipefail`
 *   ```ts             written next to the repo (so `@igris-edge/sdk` and the MCP SDK resolve) and run with Node 22
 *   ```js             the same, as an .mjs file run with the reader's Node (the first `node` on PATH outside
 *                     node_modules: the README's Node 20 here), as the quick start tells a reader to
 *   ```json           must parse
 *   anything else     (```text, ```console, ```http) is an illustration: output, a signature, or a command that
 *                     needs a Cloudflare account — not executed.
 *
 * Shell examples use curl and jq. Without a jq on PATH (or with IGRIS_DOCS_JQ=npm) a `jq` backed by the
 * jq-wasm devDependency (the real jq in WebAssembly, test/e2e/jq.shim.ts) is put first on PATH, so
 * `npm test` needs nothing but Node and npm.
 *
 * Examples read the gateway and key from the environment, as a reader's shell would:
 * IGRIS_BASE_URL, IGRIS_API_KEY, DEMO_MCP_URL (the demo MCP server's /mcp URL), LLM_SERVER_URL and
 * LLM_SERVER_KEY (a local OpenAI/Anthropic-compatible server). Blocks of one page run in
 * order and share a working directory, so a page can create a connection and then use it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROOT } from '../../scripts/local-stack';
import { executedPages } from './docs.blocks';
import { addressOf, SIGN_UP_PATH, signUpsFrom } from './sign-up.fixtures';

const DOCS = path.join(ROOT, 'docs');
// Scripts are written inside the repository (so packages resolve from its node_modules), in a folder of
// this run's own: two runs at once (two terminals, or CI beside a developer) must not delete each other's.
mkdirSync(path.join(ROOT, '.docs-run'), { recursive: true });
const RUN_DIR = mkdtempSync(path.join(ROOT, '.docs-run', 'run-'));

const pages = executedPages(DOCS);

beforeAll(() => {
  // Examples import the SDK as a reader would: `@igris-edge/sdk`, resolved to its built package. `npm install`
  // builds it through the root `prepare` script; running that same script here keeps the build current and
  // fails if the install hook goes missing (a reader's quick start would then fail on step 4).
  const build = spawnSync('npm', ['run', '--silent', 'prepare'], { cwd: ROOT, encoding: 'utf8' });
  expect(build.status, build.stdout + build.stderr).toBe(0);
});

afterAll(() => rmSync(RUN_DIR, { recursive: true, force: true }));

/** A folder holding a `jq` that runs test/e2e/jq.shim.ts, or null when the system's jq is used. */
function jqShimDir(): string | null {
  const systemJq = spawnSync('sh', ['-c', 'command -v jq'], { encoding: 'utf8' }).status === 0;
  if (systemJq && process.env.IGRIS_DOCS_JQ !== 'npm') return null;
  const dir = path.join(RUN_DIR, 'bin');
  mkdirSync(dir, { recursive: true });
  const shim = path.join(dir, 'jq');
  // The shim's own code with its types stripped once here: Node would strip them again on each of the
  // pages' few hundred jq runs (~0.1 s each, a third of a run). The copy sits inside the repository, so
  // it resolves jq-wasm from node_modules as the .ts does. NODE_COMPILE_CACHE keeps V8's compilation
  // of jq-wasm's 1.3 MB of JavaScript between runs.
  const script = path.join(dir, 'jq.shim.mjs');
  const source = readFileSync(path.join(ROOT, 'test', 'e2e', 'jq.shim.ts'), 'utf8');
  writeFileSync(script, stripTypeScriptTypes(source));
  const cache = path.join(RUN_DIR, 'node-compile-cache');
  writeFileSync(
    shim,
    `#!/bin/sh\nNODE_COMPILE_CACHE='${cache}' exec '${process.execPath}' '${script}' "$@"\n`,
  );
  chmodSync(shim, 0o755);
  return dir;
}

/** The reader's `node`: the first on PATH that is not a node_modules/.bin shim (npm puts node@22 there). */
function readersNode(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir || dir.includes(`${path.sep}node_modules${path.sep}`)) continue;
    const candidate = path.join(dir, 'node');
    if (spawnSync(candidate, ['--version']).status === 0) return candidate;
  }
  return process.execPath;
}

let pathPrefix: string | undefined;
function env(workdir: string): NodeJS.ProcessEnv {
  pathPrefix ??= [jqShimDir(), path.join(ROOT, 'node_modules', '.bin')].filter(Boolean).join(':');
  return {
    PATH: `${pathPrefix}:${process.env.PATH}`,
    HOME: workdir,
    IGRIS_BASE_URL: inject('gatewayUrl'),
    IGRIS_API_KEY: inject('adminApiKey'),
    DEMO_MCP_URL: `${inject('upstreamUrl')}/mcp`,
    // A local OpenAI/Anthropic-compatible server (test/e2e/llm.fake-provider.ts) and its API key.
    LLM_SERVER_URL: inject('llmProvider').url,
    LLM_SERVER_KEY: inject('llmProvider').key,
    NO_COLOR: '1',
  };
}

describe.each(pages)('docs/$file', ({ file, blocks }) => {
  const workdir = mkdtempSync(path.join(os.tmpdir(), `igris-docs-${file.replace(/\W/g, '_')}-`));
  afterAll(() => rmSync(workdir, { recursive: true, force: true }));
  // The page's curl plays a client the edge located at the page's own address (sign-up.fixtures.ts):
  // curl reads $HOME/.curlrc, and HOME is the page's folder; the examples stay as a reader runs them.
  const address = addressOf(`docs/${file}`);
  writeFileSync(path.join(workdir, '.curlrc'), `header = "CF-Connecting-IP: ${address}"\n`);

  it.each(blocks.map((b, i) => ({ ...b, i })))('block at line $line ($lang)', ({ lang, code, line, i }) => {
    if (lang === 'json') {
      expect(() => JSON.parse(code), `docs/${file}:${line} is not valid JSON`).not.toThrow();
      return;
    }
    let result: ReturnType<typeof spawnSync>;
    if (lang === 'bash' || lang === 'sh') {
      result = spawnSync('bash', ['-euo', 'pipefail', '-c', code], {
        cwd: workdir,
        env: env(workdir),
        encoding: 'utf8',
        timeout: 60_000,
      });
    } else {
      const script = path.join(RUN_DIR, `${file.replace(/\W/g, '_')}_${i}.${lang === 'ts' ? 'ts' : 'mjs'}`);
      writeFileSync(script, code);
      result = spawnSync(lang === 'ts' ? process.execPath : readersNode(), [script], {
        cwd: workdir,
        env: env(workdir),
        encoding: 'utf8',
        timeout: 60_000,
      });
    }
    expect(
      result.status,
      `docs/${file}:${line} failed (exit ${result.status})\n--- code\n${code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
    ).toBe(0);
  });

  const signUps = blocks.reduce((n, b) => n + b.code.split(SIGN_UP_PATH).length - 1, 0);
  if (signUps > 0)
    it(`signed up ${signUps} account(s), counted against the page's own address`, () => {
      expect(signUpsFrom(address)).toBe(signUps);
    });
});
