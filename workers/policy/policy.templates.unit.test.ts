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

  it('untrusted_input_network_approval: open-world reads taint the session, sinks then need an approval', () => {
    const rules = POLICY_TEMPLATES.find((t) => t.id === 'untrusted_input_network_approval')!.rules;
    const compiled = compilePolicy({ rules }, 1);
    const decide = (tool: string, annotations: Record<string, unknown> | null = null) =>
      evaluate(compiled, { tool, annotations });
    for (const sink of [
      decide('send_email'),
      decide('post_message'),
      decide('slack_webhook_post'),
      decide('create_issue', { openWorldHint: true }),
    ]) {
      expect(sink).toMatchObject({ action: 'allow', cleanOf: [['untrusted_input']], onTaint: 'approve' });
    }
    for (const read of [
      decide('fetch_url'),
      decide('web_search'),
      decide('lookup', { openWorldHint: true, readOnlyHint: true }),
    ]) {
      expect(read).toMatchObject({ action: 'allow', labels: ['untrusted_input'], cleanOf: null });
    }
    expect(decide('read_file')).toMatchObject({ action: 'allow', labels: null, cleanOf: null });
  });

  it('private_data_no_untrusted_output: closed-world tools add private_data, open-world tools need it absent', () => {
    const rules = POLICY_TEMPLATES.find((t) => t.id === 'private_data_no_untrusted_output')!.rules;
    const compiled = compilePolicy({ rules }, 1);
    const decide = (tool: string, annotations: Record<string, unknown> | null = null) =>
      evaluate(compiled, { tool, annotations });
    expect(decide('read_crm_contacts')).toMatchObject({ action: 'allow', labels: ['private_data'] });
    for (const out of [
      decide('send_email'),
      decide('fetch_url'),
      decide('translate', { openWorldHint: true }),
    ]) {
      expect(out).toMatchObject({ action: 'allow', cleanOf: [['private_data']], labels: null });
      expect(out.onTaint ?? 'deny').toBe('deny');
    }
  });
});
