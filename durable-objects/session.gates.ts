/**
 * Session conditions, the guard's pure half (issue 22): given a session's facts — the labels it
 * touched and the (normalised) names of the tools it called — which of the call's gates applies
 * (workers/policy/policy.session.ts compiles them; guard.contract.ts `SessionGate`), and which
 * `cleanOf` entry it fails. No I/O; linear in the facts times the gate's entries.
 */

import { boundedSet } from '../workers/lib/bounded.map';
import { compileGlob, type GlobMatcher } from '../workers/shared/policy.glob';
import type { SessionGate, TaintCheck } from './guard.contract';

/** What a session holds, from the guard's own records and (linked sessions) the organization's store. */
export interface Facts {
  hasLabel(label: string): boolean;
  /** Normalised names of the tools the session called. */
  called(): Iterable<string>;
}

/** Why a call is tainted: the facts that hold, the rule that says so, and whether it is held for approval. */
export interface TaintHit {
  held: string[];
  ruleIndex: number | null;
  approve: boolean;
}

/** Compiled globs, shared by every session of the guard (bounded: the oldest is dropped). */
const globs = new Map<string, GlobMatcher>();
const GLOB_CACHE_LIMIT = 1_000;

function globOf(pattern: string): GlobMatcher {
  let matcher = globs.get(pattern);
  if (!matcher) {
    matcher = compileGlob(pattern);
    boundedSet(globs, pattern, matcher, GLOB_CACHE_LIMIT);
  }
  return matcher;
}

/** The facts of `facts` that satisfy the gate (`called:<name>` for tools), or null when it does not hold. */
export function gateHolds(gate: SessionGate, facts: Facts): string[] | null {
  const held: string[] = [];
  if (gate.touched) {
    const touched = gate.touched.filter((label) => facts.hasLabel(label));
    if (touched.length === 0) return null;
    held.push(...touched);
  }
  if (gate.called) {
    const matchers = gate.called.map(globOf);
    let name: string | null = null;
    for (const called of facts.called()) {
      if (matchers.some((m) => m(called))) {
        name = called;
        break;
      }
    }
    if (name === null) return null;
    held.push(`called:${name}`);
  }
  return held;
}

/**
 * First the gates (they are rules before the matched one, in rule order), then the matched rule's
 * `cleanOf`. Null: the call may go on.
 */
export function taintHit(check: TaintCheck, facts: Facts): TaintHit | null {
  for (const gate of check.gates ?? []) {
    const held = gateHolds(gate, facts);
    if (held) return { held, ruleIndex: gate.ruleIndex, approve: gate.approve === true };
  }
  for (const entry of check.cleanOf) {
    if (entry.length > 0 && entry.every((label) => facts.hasLabel(label))) {
      return { held: [...entry], ruleIndex: check.ruleIndex, approve: check.approve === true };
    }
  }
  return null;
}
