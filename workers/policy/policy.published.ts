/**
 * The form a policy is published in (KV `policy:<orgId>:<connectionId>`, policy.store.ts) and how a
 * gateway turns it back into a compiled policy without validating it again. Pure, no I/O.
 *
 * Rules are validated once, when they are published (the API parses every PUT; only the API and
 * policy.store.ts write KV), and stored stamped with POLICY_FORMAT:
 *
 *   { version, validated: 2,
 *     rules:    ["<rule 0 as JSON>", …],   each rule's own JSON text, parsed when first evaluated
 *     tools:    ["svc_*", null, …],        rule i's tool glob (null: none), for the tool index
 *     targeted: [12, 40] }                 rules with a model or endpoint (compiled at load)
 *
 * Why texts: JSON.parse of 10,000 rules as objects took ~9 ms, as 10,000 strings ~2.5 ms, and a
 * call examines only its candidate rules (policy.compile.ts). Format 1 (rules as objects, the
 * previous format) is still read, without validation either. Anything else is not trusted:
 * `compilePublished` returns null and the caller validates.
 */
import { type CompiledPolicy, compileSources, headsOf } from './policy.compile.js';
import type { Rule } from './policy.schema.js';

export const POLICY_FORMAT = 2;
/** Rules as parsed objects (sessions before issue 20); still accepted when read. */
const POLICY_FORMAT_OBJECTS = 1;

export interface PublishedPolicy {
  version: number;
  /** Format 2: each rule's JSON text. Format 1: the rules. Otherwise: unvalidated rules. */
  rules: unknown[];
  /** POLICY_FORMAT when written by encodePublished from the output of parsePolicy. */
  validated?: number;
  tools?: (string | null)[];
  targeted?: number[];
}

/** The stored text of validated rules (the output of parsePolicy). */
export function encodePublished(version: number, rules: readonly Rule[]): string {
  const heads = headsOf(rules);
  const published: PublishedPolicy = {
    version,
    validated: POLICY_FORMAT,
    rules: rules.map((rule) => JSON.stringify(rule)),
    tools: [...heads.tools],
    targeted: [...heads.targeted],
  };
  return JSON.stringify(published);
}

/** The compiled policy of a stored value in a trusted format; null when it must be validated. */
export function compilePublished(stored: PublishedPolicy): CompiledPolicy | null {
  if (!Array.isArray(stored.rules) || typeof stored.version !== 'number') return null;
  if (stored.validated === POLICY_FORMAT && isFormat2(stored)) {
    return compileSources(stored.rules, { tools: stored.tools, targeted: stored.targeted }, stored.version);
  }
  if (stored.validated === POLICY_FORMAT_OBJECTS) {
    const rules = stored.rules as Rule[];
    // These objects were parsed from storage for this load alone: nobody else can change them.
    return compileSources(rules, headsOf(rules), stored.version);
  }
  return null;
}

function isFormat2(
  stored: PublishedPolicy,
): stored is PublishedPolicy & { rules: string[]; tools: (string | null)[]; targeted: number[] } {
  return (
    Array.isArray(stored.tools) &&
    stored.tools.length === stored.rules.length &&
    Array.isArray(stored.targeted) &&
    stored.targeted.every((i) => Number.isInteger(i) && i >= 0 && i < stored.rules.length) &&
    stored.rules.every((rule) => typeof rule === 'string')
  );
}
