/**
 * reportedLocation: a location (a JSON path naming object keys) reported with the spans a rule
 * matches in it shown as `[ruleId]` — a key can be the secret itself (keys are scanned too).
 */
import { describe, expect, it } from 'vitest';
import { builtinRules, packsNamed } from './inspection.builtin.js';
import { compileRules } from './inspection.engine.js';
import { recordFindings, reportedLocation } from './inspection.findings.js';
import type { CallInspection } from './inspection.types.js';

const engine = compileRules(builtinRules(), packsNamed(['llm-standard-security', 'llm-compliance-gdpr']));
const AWS = 'AKIAZ7Q4RXW2LM5PT3NB';

describe('reportedLocation', () => {
  it('shows an AWS key used as an identifier key as its rule', () => {
    const at = `$.messages[0].content[0].input.${AWS}~key`;
    const out = reportedLocation(engine, 'prompt', at);
    expect(out).not.toContain(AWS);
    expect(out).not.toContain('Z7Q4');
    expect(out).toBe('$.messages[0].content[0].input.[secret.aws_access_key_id]~key');
  });

  it("shows a credential key as its detector's rule even when the connection's packs have no secret rules", () => {
    const piiOnly = compileRules(builtinRules(), packsNamed(['llm-compliance-gdpr']));
    const token = 'ghp_PTTv6vsndhgF9eRW1veDgS0dYlaFqhLidHDy';
    const out = reportedLocation(piiOnly, 'args', `$.params.arguments["${token}"].contact`);
    expect(out).not.toContain('PTTv6vsndhgF9eRW1veD');
    expect(out).toBe('$.params.arguments["[secret.github_token]"].contact');
  });

  it('shows an e-mail used as a quoted key as its rule, under it too', () => {
    const out = reportedLocation(engine, 'args', '$["jane@example.com"].note');
    expect(out).not.toContain('jane');
    expect(out).toBe('$["[pii.email]"].note');
  });

  it('scans a quoted key with an escape in it as the key itself', () => {
    // `"` in a key is escaped in the path (`\"`): the key's own text is scanned as well.
    const at = `$[${JSON.stringify(`"${AWS}`)}]~key`;
    const out = reportedLocation(engine, 'prompt', at);
    expect(out).not.toContain(AWS);
  });

  it('shows a key too long to show as ["…"]: reported locations stay short, whatever the keys', () => {
    const long = `note ${'x'.repeat(100_000)} ${AWS}`;
    const at = `$.params[${JSON.stringify(long)}].items[3].${'y'.repeat(50_000)}~key`;
    const out = reportedLocation(engine, 'args', at);
    expect(out).toBe('$.params["…"].items[3]["…"]~key');
    const short = `$.a["${'x'.repeat(100)}"]~key`;
    expect(reportedLocation(engine, 'args', short)).toBe(short);
  });

  it('leaves ordinary paths as they are (and does not scan short ones)', () => {
    for (const at of ['$', 'body', '$.messages[2].content', '$.params.arguments.query', 'line 3 $.body.x'])
      expect(reportedLocation(engine, 'prompt', at)).toBe(at);
    let scans = 0;
    const counting = {
      ...engine,
      scan: (t: string, w: 'args') => {
        scans++;
        return engine.scan(t, w);
      },
    };
    reportedLocation(counting, 'args', '$.a.b[0].c~key');
    expect(scans).toBe(0);
  });

  it('is what recordFindings records', () => {
    const value = { tool_input: { [AWS]: 1 }, 'jane@example.com': { note: 'x' } };
    const found = engine.scanJson(value, 'prompt');
    expect(found.length).toBeGreaterThanOrEqual(2);
    const inspection: CallInspection = { engine, redactResults: false, found: [], session: null };
    const recorded = JSON.stringify(recordFindings(inspection, found, 'prompt', 0, '$.body'));
    expect(recorded).not.toContain(AWS);
    expect(recorded).not.toContain('jane@example.com');
    expect(recorded).toContain('[secret.aws_access_key_id]');
  });
});
