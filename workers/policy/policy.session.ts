/**
 * Session conditions (issue 22): `session.touched` (labels the caller's agent session has touched)
 * and `session.called` (tool-name globs it has called). Pure: the checks the rule schema applies, and the compiled form a
 * rule's session conditions take — a `SessionGate` the gateway sends with the admit request, so the
 * ConnectionGuard (which holds the session's facts) decides them in the call's single round trip.
 *
 * Why a gate and not a condition evaluated here: policy evaluation is pure and runs in the Worker
 * before the guard is asked; the facts live in the guard. A rule with session conditions whose
 * other conditions hold is therefore a *candidate*: evaluation notes its gate and goes on to the
 * rule the call would match without it (the fallback). The guard takes the first candidate whose
 * session conditions hold (refusing the call, or holding it for an approver), else the fallback.
 *
 * Only `deny` and `approve` rules may have session conditions: a session's facts are its own past
 * calls, which the agent chooses — a fact that could *grant* access would let an agent unlock a
 * tool by calling another one first. Facts can only take access away.
 */
import type { SessionGate } from '../../durable-objects/guard.contract.js';
import { normalizePattern } from './policy.normalize.js';

export type { SessionGate } from '../../durable-objects/guard.contract.js';

export const SESSION_FIELDS = ['session.touched', 'session.called'] as const;
export type SessionField = (typeof SESSION_FIELDS)[number];
/** Most entries one session condition may list (labels or globs). */
export const MAX_SESSION_VALUES = 20;
/** The actions a rule with session conditions may have (facts only take access away). */
export const SESSION_ACTIONS = ['deny', 'approve'] as const;

/** Session taint labels: `untrusted_input`, `private_data`, `sink:network`… */
export const LABEL_PATTERN = /^[a-z0-9][a-z0-9_:.-]{0,63}$/;
export const LABEL_MESSAGE = 'a label is 1 to 64 lower-case letters, digits, "_", ":", "." or "-"';

export function isSessionField(value: unknown): value is SessionField {
  return value === 'session.touched' || value === 'session.called';
}

/** `["a", "b"]` (shorthand) or `{ in: ["a", "b"] }`: holds when the session has ANY of them. */
export type SessionCondition = string[] | { in: string[] };

/** The entries of a session condition (shorthand or `in`), or null when it is not one. */
export function sessionEntries(condition: unknown): string[] | null {
  if (Array.isArray(condition)) return condition.every((e) => typeof e === 'string') ? condition : null;
  if (typeof condition === 'object' && condition !== null && 'in' in condition) {
    const values = (condition as { in: unknown }).in;
    if (Object.keys(condition).length === 1 && Array.isArray(values)) return sessionEntries(values);
  }
  return null;
}

/** Issues of one session condition: labels must be labels (globs are any non-empty name). */
export function sessionConditionIssue(field: SessionField, condition: unknown): string | null {
  const entries = sessionEntries(condition);
  if (entries === null) return `${field} must be a list of strings, or { "in": [...] }`;
  if (entries.length === 0 || entries.length > MAX_SESSION_VALUES) {
    return `${field} must list 1 to ${MAX_SESSION_VALUES} values`;
  }
  if (entries.some((e) => e.length === 0 || e.length > 256))
    return `${field}: a value is 1 to 256 characters`;
  if (field === 'session.touched' && !entries.every((label) => LABEL_PATTERN.test(label))) {
    return `${field}: ${LABEL_MESSAGE}`;
  }
  return null;
}

/**
 * The gate of rule `ruleIndex` from its conditions, or null when it has no session condition.
 * Globs are normalised like tool globs (the guard records called names normalised the same way).
 */
export function compileSessionGate(
  ruleIndex: number,
  action: string,
  conditions: Readonly<Record<string, unknown>> | undefined,
): SessionGate | null {
  if (!conditions) return null;
  const touched = sessionEntries(conditions['session.touched']);
  const called = sessionEntries(conditions['session.called']);
  if (touched === null && called === null) return null;
  const gate: SessionGate = {
    ruleIndex,
    touched: touched ? Object.freeze([...touched]) : null,
    called: called ? Object.freeze(called.map(normalizePattern)) : null,
  };
  if (action === 'approve') gate.approve = true;
  return Object.freeze(gate);
}
