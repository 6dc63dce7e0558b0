/**
 * Shared by the policy schema unit tests (policy.schema.documents, policy.schema.rules): parsing a
 * policy and reading its issues, checking one rule, and the allow-all rule.
 */
import { expect } from 'vitest';
import { type PolicyIssue, parsePolicy } from './policy.schema';

export function issuesOf(input: unknown): PolicyIssue[] {
  const result = parsePolicy(input);
  if (result.ok) throw new Error(`expected refusal, got ${JSON.stringify(result.policy)}`);
  return result.issues;
}

export function acceptsRule(rule: unknown): boolean {
  return parsePolicy({ rules: [rule] }).ok;
}

/** The single issue reported for one rule at index 0. */
export function ruleIssue(rule: unknown): PolicyIssue {
  const issues = issuesOf({ rules: [rule] });
  expect(issues).toHaveLength(1);
  return issues[0]!;
}

export const allow = (extra: Record<string, unknown> = {}) => ({ tool: 'read_*', action: 'allow', ...extra });
