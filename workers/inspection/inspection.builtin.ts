/**
 * The built-in rules (rules/<category>.json, one file per category) and packs (packs.json),
 * validated once on first use. They are data: edit the JSON, `npx vitest run --project unit
 * workers/inspection` runs every example of every rule.
 *
 * Plain Node needs an import attribute for JSON that bundlers do not; bench/ and scripts/
 * register bench/lib/ts-resolve.ts, which supplies it.
 */

import { type Pack, packFileSchema, type Rule, ruleFileSchema } from './inspection.schema.js';
import packsFile from './packs.json';
import commandInjection from './rules/command_injection.json';
import exfiltration from './rules/exfiltration.json';
import jailbreak from './rules/jailbreak.json';
import obfuscation from './rules/obfuscation.json';
import pathTraversal from './rules/path_traversal.json';
import pii from './rules/pii.json';
import promptInjection from './rules/prompt_injection.json';
import secret from './rules/secret.json';
import sqlInjection from './rules/sql_injection.json';
import ssrf from './rules/ssrf.json';
import systemPromptLeak from './rules/system_prompt_leak.json';
import templateInjection from './rules/template_injection.json';
import xss from './rules/xss.json';

const RULE_FILES: unknown[] = [
  sqlInjection,
  commandInjection,
  pathTraversal,
  ssrf,
  xss,
  templateInjection,
  promptInjection,
  jailbreak,
  systemPromptLeak,
  secret,
  pii,
  obfuscation,
  exfiltration,
];

let rules: Rule[] | null = null;
let packs: Map<string, Pack> | null = null;

/** Every built-in rule, in file order. Throws if a file does not match the schema (a test catches it). */
export function builtinRules(): Rule[] {
  if (rules) return rules;
  const all: Rule[] = [];
  for (const file of RULE_FILES) {
    const parsed = ruleFileSchema.parse(file);
    for (const rule of parsed.rules) {
      if (rule.category !== parsed.category)
        throw new Error(`rule ${rule.id} is in the ${parsed.category} file but says ${rule.category}`);
      all.push(rule);
    }
  }
  rules = all;
  return all;
}

export function builtinPacks(): Map<string, Pack> {
  if (packs) return packs;
  packs = new Map(packFileSchema.parse(packsFile).packs.map((p) => [p.name, p]));
  return packs;
}

/** The named built-in packs; throws on an unknown name. */
export function packsNamed(names: readonly string[]): Pack[] {
  const known = builtinPacks();
  return names.map((name) => {
    const pack = known.get(name);
    if (!pack) throw new Error(`unknown detection pack ${name}`);
    return pack;
  });
}
