/**
 * Refreshes the LLM price table (workers/llm/llm.prices.json) from a local copy of LiteLLM's
 * model_prices_and_context_window.json (https://github.com/BerriAI/litellm). Every model in our
 * table names the LiteLLM key its price comes from (`litellm`); this re-reads each one.
 *
 *   node scripts/llm-prices.update.ts <litellm.json> [--date YYYY-MM-DD]
 *   node scripts/llm-prices.update.ts <litellm.json> --add <provider> <model> <litellm key>
 *
 * When a price changed (or a model was added) the table gets a new version `<date>.<n>` and
 * `effectiveDate`/`source.retrieved` = the date (today unless --date). A LiteLLM key that is gone
 * or has no token prices is reported and its old price kept. Review the diff before committing:
 * `npx vitest run --project unit workers/llm` validates the result.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { priceFromLiteLlm } from '../workers/llm/llm.prices.litellm.ts';

const TABLE = path.resolve(import.meta.dirname, '..', 'workers', 'llm', 'llm.prices.json');

interface Table {
  version: string;
  effectiveDate: string;
  source: { retrieved: string; [key: string]: unknown };
  providers: Record<string, { models: Record<string, Record<string, unknown> & { litellm?: string }> }>;
  [key: string]: unknown;
}

function usage(): never {
  console.error(
    'usage: node scripts/llm-prices.update.ts <litellm.json> [--date YYYY-MM-DD] [--add provider model key]…',
  );
  process.exit(2);
}

const args = process.argv.slice(2);
const sourceFile = args.shift() ?? usage();
let date = new Date().toISOString().slice(0, 10);
const additions: Array<[string, string, string]> = [];
while (args.length > 0) {
  const flag = args.shift();
  if (flag === '--date') date = args.shift() ?? usage();
  else if (flag === '--add')
    additions.push([args.shift() ?? usage(), args.shift() ?? usage(), args.shift() ?? usage()]);
  else usage();
}

const litellm = JSON.parse(readFileSync(sourceFile, 'utf8')) as Record<string, Record<string, unknown>>;
const table = JSON.parse(readFileSync(TABLE, 'utf8')) as Table;

let changed = 0;
for (const [provider, model, key] of additions) {
  table.providers[provider] ??= { models: {} };
  table.providers[provider].models[model] = { litellm: key } as never;
}
for (const [provider, section] of Object.entries(table.providers)) {
  for (const [model, old] of Object.entries(section.models)) {
    if (!old.litellm) continue;
    const entry = litellm[old.litellm];
    const fresh = entry ? priceFromLiteLlm(entry, old.litellm) : null;
    if (!fresh) {
      console.warn(
        `kept ${provider}/${model}: LiteLLM key "${old.litellm}" is missing or has no token prices`,
      );
      if (Object.keys(old).length === 1) delete section.models[model];
      continue;
    }
    if (JSON.stringify(fresh) !== JSON.stringify(old)) {
      console.log(`${provider}/${model}: ${JSON.stringify(old)} → ${JSON.stringify(fresh)}`);
      section.models[model] = fresh as never;
      changed++;
    }
  }
}

if (changed === 0) {
  console.log('no price changed');
} else {
  const [prevDate, prevN] = table.version.split('.');
  table.version = `${date}.${prevDate === date ? Number(prevN) + 1 : 1}`;
  table.effectiveDate = date;
  table.source.retrieved = date;
  writeFileSync(TABLE, `${JSON.stringify(table, null, 2)}\n`);
  // The repository's formatter owns the layout (`npm run lint` checks it).
  spawnSync('npx', ['biome', 'format', '--write', TABLE], { stdio: 'inherit' });
  console.log(`${changed} price(s) changed; table version ${table.version}`);
}
