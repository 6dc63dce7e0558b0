/**
 * A policy document's validation problems as API callers read them (pure): zod reports union and
 * record failures as nested trees; these flatten them into one list of "rule, where, what".
 */
import type { z } from 'zod';
import { MAX_LISTED_KEYS, quoted, quotedPath } from '../lib/issues.list.js';

export interface PolicyIssue {
  /** Index of the offending rule, or null when the problem is with the document itself. */
  ruleIndex: number | null;
  /** Human-readable location, e.g. `rules[3].conditions.metadata.role.in`. */
  path: string;
  message: string;
}

type ZodIssue = z.core.$ZodIssue;
type PathSegment = PropertyKey;

/**
 * Zod reports union/record failures as nested trees; API callers want one flat list of
 * "where + what". This picks the branch the author evidently meant and surfaces its leaves.
 */
export function flattenIssue(issue: ZodIssue, base: readonly PathSegment[], out: PolicyIssue[]): void {
  const path = [...base, ...issue.path];
  switch (issue.code) {
    case 'invalid_union':
      flattenUnion(issue.errors, issue.message, path, out);
      return;
    case 'invalid_key':
    case 'invalid_element':
      // The key/element itself is the location; the nested issue carries the useful message.
      out.push(toPolicyIssue(path, issue.issues[0]?.message ?? issue.message));
      return;
    case 'unrecognized_keys': {
      // Bounded (lib/issues.list.ts): a rule sent a million unknown keys is not answered key by key.
      const named = issue.keys.slice(0, MAX_LISTED_KEYS);
      for (const key of named)
        out.push(toPolicyIssue([...path, quoted(key)], `unknown field "${quoted(key)}"`));
      const more = issue.keys.length - named.length;
      if (more > 0) out.push(toPolicyIssue(path, `and ${more} more unknown fields`));
      return;
    }
    default:
      out.push(toPolicyIssue(path, issue.message));
  }
}

function flattenUnion(
  branches: ZodIssue[][],
  message: string,
  path: PathSegment[],
  out: PolicyIssue[],
): void {
  // A branch that failed on the value's type is one the author did not mean (e.g. the
  // scalar branch for an object input); the remaining branch has the relevant details.
  const meant = branches.filter((branch) => !isTypeMismatch(branch));
  if (meant.length === 0) {
    out.push(toPolicyIssue(path, message));
    return;
  }
  const best = meant.reduce((a, b) => (b.length < a.length ? b : a));
  for (const issue of best) flattenIssue(issue, path, out);
}

function isTypeMismatch(branch: ZodIssue[]): boolean {
  return branch.some(
    (issue) =>
      issue.path.length === 0 &&
      (issue.code === 'invalid_type' ||
        (issue.code === 'invalid_union' && issue.errors.every((inner) => isTypeMismatch(inner)))),
  );
}

function toPolicyIssue(path: readonly PathSegment[], message: string): PolicyIssue {
  const ruleIndex = path[0] === 'rules' && typeof path[1] === 'number' ? path[1] : null;
  return { ruleIndex, path: formatPath(path), message };
}

/** A path as a policy issue quotes it (keys are the caller's: lib/issues.list.ts quotedPath). */
export function formatPath(path: readonly PathSegment[]): string {
  return quotedPath(path);
}
