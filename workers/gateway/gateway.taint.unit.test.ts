import { describe, expect, it } from 'vitest';
import { compilePolicy, evaluate } from '../policy/policy.evaluate.js';
import { toolLabels } from '../policy/policy.labels.js';
import { parsePolicy } from '../policy/policy.schema.js';
import { taintCheck, taintSession } from './gateway.taint.js';

function decisionsFor(rules: unknown[], tools: string[]) {
  const parsed = parsePolicy({ rules });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const compiled = compilePolicy(parsed.policy, 1);
  return tools.map((tool) => ({ unit: null, tool, decision: evaluate(compiled, { tool }), refusal: null }));
}

const caller = { apiKeyId: 'key_1', user: null, mcpSessionId: null, traceId: 'run-7' };

describe('taintCheck', () => {
  it('collects the labels an admitted call adds and the combinations its rule forbids', () => {
    const decisions = decisionsFor(
      [
        { tool: 'fetch', action: 'allow', labels: ['untrusted_content'] },
        {
          tool: 'send_email',
          action: 'allow',
          labels: ['sink:network'],
          cleanOf: ['untrusted_content', ['private_data', 'web']],
        },
      ],
      ['fetch', 'send_email'],
    );
    expect(taintCheck(decisions, caller)).toEqual({
      session: 'key_1|trace:run-7',
      add: ['untrusted_content', 'sink:network'],
      cleanOf: [['untrusted_content'], ['private_data', 'web']],
      ruleIndex: 1,
      called: ['fetch', 'send_email'],
      linked: true,
    });
  });

  it('records only the called name when no rule has labels or cleanOf, and ignores refused units', () => {
    const plain = decisionsFor([{ tool: '*', action: 'allow' }], ['X']);
    // Names are recorded in their comparable form (policy.normalize.ts), like globs are matched.
    expect(taintCheck(plain, caller)).toEqual({
      session: 'key_1|trace:run-7',
      add: [],
      cleanOf: [],
      ruleIndex: null,
      called: ['x'],
      linked: true,
    });
    // Not linked without an MCP session or the caller's own trace id.
    expect(taintCheck(plain, { ...caller, traceId: null })!.linked).toBeUndefined();
    const labelled = decisionsFor([{ tool: 'x', action: 'allow', labels: ['a'] }], ['x']);
    expect(taintCheck([{ ...labelled[0]!, refusal: new Error('no') as never }], caller)).toBeUndefined();
  });

  it('asks the guard for an approval (approve) only when every rule checking taint says onTaint "approve"', () => {
    const rules = [
      { tool: 'send_email', action: 'allow', cleanOf: ['untrusted_input'], onTaint: 'approve' },
      { tool: 'post', action: 'allow', cleanOf: ['untrusted_input'] },
      { tool: 'fetch', action: 'allow', labels: ['untrusted_input'] },
    ];
    expect(taintCheck(decisionsFor(rules, ['send_email']), caller)).toMatchObject({
      cleanOf: [['untrusted_input']],
      approve: true,
    });
    // A batch with a deny-on-taint rule is refused whole: the strictest reading wins.
    expect(taintCheck(decisionsFor(rules, ['send_email', 'post']), caller)!.approve).toBeUndefined();
    // No cleanOf at all: nothing to approve.
    expect(taintCheck(decisionsFor(rules, ['fetch']), caller)!.approve).toBeUndefined();
    // onTaint means nothing without cleanOf, so the schema refuses it.
    const bad = parsePolicy({ rules: [{ tool: 'x', action: 'allow', onTaint: 'approve' }] });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues.map((i) => i.path)).toEqual(['rules[0].onTaint']);
    const wrong = parsePolicy({ rules: [{ tool: 'x', action: 'allow', cleanOf: ['a'], onTaint: 'alert' }] });
    expect(wrong.ok).toBe(false);
  });

  it('a session is the caller plus its MCP session, else its own trace id, else the key', () => {
    expect(taintSession({ ...caller, mcpSessionId: 'abc' })).toBe('key_1|mcp:abc');
    expect(taintSession({ ...caller, traceId: null })).toBe('key_1|key');
    expect(taintSession({ apiKeyId: null, user: 'alice', mcpSessionId: null, traceId: null })).toBe(
      'user:alice|key',
    );
  });

  it('labels and cleanOf are validated', () => {
    const bad = parsePolicy({ rules: [{ tool: 'x', action: 'allow', labels: ['Bad Label'], cleanOf: [] }] });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues.map((i) => i.path)).toEqual(['rules[0].labels[0]', 'rules[0].cleanOf']);
  });

  it("adds the tool labels of the connection (settings, else pinned annotations) to a rule's labels", () => {
    const decisions = decisionsFor(
      [{ tool: '*', action: 'allow', labels: ['audited'] }],
      ['fetch_page', 'send_email'],
    );
    const pinned: Record<string, Record<string, boolean>> = {
      fetch_page: { openWorldHint: true, readOnlyHint: true },
    };
    const check = taintCheck(decisions, caller, (tool) => toolLabels(tool, null, pinned[tool]));
    expect(check!.add).toEqual(['audited', 'untrusted_input']);
    const overridden = taintCheck(decisions, caller, (tool) =>
      toolLabels(tool, { 'fetch_*': [], 'send_*': ['sink:network'] }, pinned[tool]),
    );
    expect(overridden!.add).toEqual(['audited', 'sink:network']);
  });

  it('carries the session gates of the decisions (rules with session conditions)', () => {
    const decisions = decisionsFor(
      [
        { tool: 'send_email', action: 'deny', conditions: { 'session.touched': ['untrusted_input'] } },
        { tool: '*', action: 'allow' },
      ],
      ['send_email'],
    );
    expect(taintCheck(decisions, caller)!.gates).toEqual([
      { ruleIndex: 0, touched: ['untrusted_input'], called: null },
    ]);
  });
});
