/**
 * The code examples of a docs page, as docs.e2e.test.ts runs them (and sign-up.addresses.unit.test.ts
 * checks their sign-ups): fenced blocks with their language and line; EXECUTED says which run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface Block {
  lang: string;
  code: string;
  line: number;
}

/** The languages docs.e2e.test.ts runs (json: parsed); any other block is an illustration. */
export const EXECUTED = new Set(['bash', 'sh', 'ts', 'js', 'json']);

export function extractBlocks(markdown: string): Block[] {
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

/** Every page of `docsDir` with examples to run, by file name, with the blocks that run. */
export function executedPages(docsDir: string): Array<{ file: string; blocks: Block[] }> {
  return readdirSync(docsDir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((file) => ({
      file,
      blocks: extractBlocks(readFileSync(path.join(docsDir, file), 'utf8')).filter((b) =>
        EXECUTED.has(b.lang),
      ),
    }))
    .filter((p) => p.blocks.length > 0);
}
