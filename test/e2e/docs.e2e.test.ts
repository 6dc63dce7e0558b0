/**
 * Every code example in docs/*.md runs here against the live local stack, so none can rot.
 *
 *   ```bash / ```sh   run with `bash -euo pipefail`
 *   ```ts / ```js     written next to the repo (so `@igris-edge/sdk` and the MCP SDK resolve) and run with Node 22
 *   ```json           must parse
 *   anything else     (```text, ```console, ```http) is an illustration: output, a signature, or a command that
 *                     needs a Cloudflare account — not executed.
 *
 * Examples read the gateway and key from the environment, as a reader's shell would:
 * IGRIS_BASE_URL, IGRIS_API_KEY, DEMO_MCP_URL (the demo MCP server's /mcp URL). Blocks of one page run in
 * order and share a working directory, so a page can create a connection and then use it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROOT } from '../../scripts/local-stack';

interface Block {
  lang: string;
  code: string;
  line: number;
}

const EXECUTED = new Set(['bash', 'sh', 'ts', 'js', 'json']);
const DOCS = path.join(ROOT, 'docs');
const RUN_DIR = path.join(ROOT, '.docs-run');

function extractBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const lang = open[2]!.toLowerCase();
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) body.push(lines[j]!.slice(indent));
    blocks.push({ lang, code: body.join('\n'), line: i + 1 });
    i = j;
  }
  return blocks;
}

const pages = readdirSync(DOCS)
  .filter((f) => f.endsWith('.md'))
  .sort()
  .map((file) => ({
    file,
    blocks: extractBlocks(readFileSync(path.join(DOCS, file), 'utf8')).filter((b) => EXECUTED.has(b.lang)),
  }))
  .filter((p) => p.blocks.length > 0);

beforeAll(() => {
  // Examples import the SDK as a reader would: `@igris-edge/sdk`, resolved to its built package.
  const build = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'sdk/tsconfig.json'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(build.status, build.stdout + build.stderr).toBe(0);
  mkdirSync(RUN_DIR, { recursive: true });
});

afterAll(() => rmSync(RUN_DIR, { recursive: true, force: true }));

function env(workdir: string): NodeJS.ProcessEnv {
  return {
    PATH: `${path.join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
    HOME: workdir,
    IGRIS_BASE_URL: inject('gatewayUrl'),
    IGRIS_API_KEY: inject('adminApiKey'),
    DEMO_MCP_URL: `${inject('upstreamUrl')}/mcp`,
    NO_COLOR: '1',
  };
}

describe.each(pages)('docs/$file', ({ file, blocks }) => {
  const workdir = mkdtempSync(path.join(os.tmpdir(), `igris-docs-${file.replace(/\W/g, '_')}-`));
  afterAll(() => rmSync(workdir, { recursive: true, force: true }));

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
      result = spawnSync(process.execPath, [script], {
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
});
