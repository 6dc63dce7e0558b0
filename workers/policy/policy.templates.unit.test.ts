import { describe, expect, it } from 'vitest';
import { compilePolicy, couldAllowCaller, evaluate } from './policy.evaluate';
import { parsePolicy } from './policy.schema';
import { POLICY_TEMPLATES } from './policy.templates';

describe('policy templates', () => {
  it('every template is a valid policy document', () => {
    for (const template of POLICY_TEMPLATES) expect(parsePolicy({ rules: template.rules }).ok).toBe(true);
  });

  it('read_only allows a tool only when its pinned annotations say readOnlyHint: true', () => {
    const rules = POLICY_TEMPLATES.find((t) => t.id === 'read_only')!.rules;
    const compiled = compilePolicy({ rules }, 1);
    const decide = (annotations: Record<string, unknown> | null) =>
      evaluate(compiled, { tool: 'lookup', annotations }).action;
    expect(decide({ readOnlyHint: true })).toBe('allow');
    expect(decide({ readOnlyHint: false })).toBe('deny');
    expect(decide({ readOnlyHint: 'true' })).toBe('deny');
    expect(decide({ destructiveHint: false })).toBe('deny');
    expect(decide(null)).toBe('deny');
    expect(couldAllowCaller(compiled, { tool: 'lookup', annotations: { readOnlyHint: true } })).toBe(true);
    expect(couldAllowCaller(compiled, { tool: 'lookup' })).toBe(false);
  });

  it('annotations.* accepts the four MCP hints only, and does not read metadata or args', () => {
    expect(
      parsePolicy({ rules: [{ tool: '*', action: 'allow', conditions: { 'annotations.x': true } }] }).ok,
    ).toBe(false);
    const compiled = compilePolicy(
      { rules: [{ tool: '*', action: 'allow', conditions: { 'annotations.destructiveHint': false } }] },
      1,
    );
    const spoofed = { tool: 't', metadata: { destructiveHint: false }, args: { destructiveHint: false } };
    expect(evaluate(compiled, spoofed).matched).toBe(false);
    expect(evaluate(compiled, { tool: 't', annotations: { destructiveHint: false } }).matched).toBe(true);
  });
});
