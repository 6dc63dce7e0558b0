import { describe, expect, it } from 'vitest';
import { compilePolicy, couldAllowCaller, couldEverAllow, evaluate } from './policy.evaluate.js';
import { explain } from './policy.explain.js';
import { defaultLabels, toolLabels } from './policy.labels.js';
import { parsePolicy } from './policy.schema.js';

function compiled(rules: unknown[]) {
  const parsed = parsePolicy({ rules });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return compilePolicy(parsed.policy, 1);
}

function issues(rules: unknown[]) {
  const parsed = parsePolicy({ rules });
  return parsed.ok ? [] : parsed.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('session conditions: schema', () => {
  it('accepts the list shorthand and { in } on deny and approve rules', () => {
    expect(
      issues([
        { tool: 'send_*', action: 'deny', conditions: { 'session.touched': ['untrusted_input'] } },
        { tool: 'send_*', action: 'approve', conditions: { 'session.called': { in: ['read_*'] } } },
      ]),
    ).toEqual([]);
  });

  it('refuses session conditions on allow/alert rules (a fact must not grant access)', () => {
    expect(issues([{ tool: 'x', action: 'allow', conditions: { 'session.called': ['login'] } }])).toEqual([
      'rules[0].action: session.touched / session.called conditions are allowed on "deny" and "approve" rules only (a session fact must not grant access)',
    ]);
  });

  it('refuses bad labels, empty lists, non-strings, and lists on other fields', () => {
    expect(
      issues([{ tool: 'x', action: 'deny', conditions: { 'session.touched': ['Bad Label'] } }]),
    ).toHaveLength(1);
    expect(issues([{ tool: 'x', action: 'deny', conditions: { 'session.called': [] } }])).toEqual([
      'rules[0].conditions.session.called: session.called must list 1 to 20 values',
    ]);
    expect(
      issues([{ tool: 'x', action: 'deny', conditions: { 'session.called': { in: [1] } } }]),
    ).toHaveLength(1);
    expect(issues([{ tool: 'x', action: 'deny', conditions: { 'session.other': ['a'] } }])).toHaveLength(1);
  });
});

describe('session conditions: evaluation', () => {
  const policy = compiled([
    { tool: 'send_email', action: 'deny', conditions: { 'session.touched': ['untrusted_input'] } },
    {
      tool: 'send_*',
      action: 'approve',
      conditions: { 'session.called': ['Read_*'], user: 'bob' },
    },
    { tool: '*', action: 'allow' },
  ]);

  it('returns the fallback decision with the candidate gates, in rule order', () => {
    const d = evaluate(policy, { tool: 'send_email', user: 'bob' });
    expect(d.action).toBe('allow');
    expect(d.ruleIndex).toBe(2);
    expect(d.sessionGates).toEqual([
      { ruleIndex: 0, touched: ['untrusted_input'], called: null },
      // Globs are normalised like tool globs (lower case).
      { ruleIndex: 1, touched: null, called: ['read_*'], approve: true },
    ]);
    // A gate whose other conditions fail is not a candidate.
    expect(evaluate(policy, { tool: 'send_email', user: 'eve' }).sessionGates).toEqual([
      { ruleIndex: 0, touched: ['untrusted_input'], called: null },
    ]);
  });

  it('allocates nothing for calls no session rule concerns', () => {
    const d = evaluate(policy, { tool: 'fetch_page' });
    expect(d.sessionGates ?? null).toBeNull();
    expect(evaluate(policy, { tool: 'fetch_page' })).toBe(d);
  });

  it('a session rule never shadows a tool in lists, and the simulator says the guard decides it', () => {
    const strict = compiled([
      { tool: 'send_email', action: 'deny', conditions: { 'session.touched': ['untrusted_input'] } },
      { tool: 'send_email', action: 'allow' },
    ]);
    expect(couldEverAllow(strict, 'send_email')).toBe(true);
    expect(couldAllowCaller(strict, { tool: 'send_email' })).toBe(true);
    const trace = explain(strict, { tool: 'send_email' });
    expect(trace.decision.ruleIndex).toBe(1);
    expect(trace.trace[0]!.why).toContain("session.touched any of 'untrusted_input'");
  });
});

describe('tool labels', () => {
  it('defaults from pinned annotations', () => {
    expect(defaultLabels({ openWorldHint: true, readOnlyHint: true })).toEqual(['untrusted_input']);
    expect(defaultLabels({ openWorldHint: true })).toEqual(['untrusted_input', 'sink:network']);
    expect(defaultLabels({ destructiveHint: true })).toEqual(['sink:write']);
    expect(defaultLabels({ readOnlyHint: true })).toEqual([]);
    expect(defaultLabels(null)).toEqual([]);
  });

  it('explicit settings override the defaults (union of matching globs; [] clears)', () => {
    const hints = { openWorldHint: true, readOnlyHint: true };
    expect(toolLabels('fetch_page', { 'fetch_*': ['private_data'], '*_page': ['web'] }, hints)).toEqual([
      'private_data',
      'web',
    ]);
    expect(toolLabels('fetch_page', { 'fetch_*': [] }, hints)).toEqual([]);
    expect(toolLabels('fetch_page', { other: ['x'] }, hints)).toEqual(['untrusted_input']);
    // Names are compared in their comparable form, like policy globs.
    expect(toolLabels('FETCH_page', { 'fetch_*': ['web'] }, null)).toEqual(['web']);
  });
});
