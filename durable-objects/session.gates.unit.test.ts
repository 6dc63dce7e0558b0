import { describe, expect, it } from 'vitest';
import type { TaintCheck } from './guard.contract.ts';
import { type Facts, taintHit } from './session.gates.ts';

const facts = (labels: string[], called: string[]): Facts => ({
  hasLabel: (label) => labels.includes(label),
  called: () => called,
});

const check = (extra: Partial<TaintCheck>): TaintCheck => ({
  session: 's',
  add: [],
  cleanOf: [],
  ruleIndex: 5,
  ...extra,
});

describe('taintHit', () => {
  it("takes the first gate whose conditions all hold, before the matched rule's cleanOf", () => {
    const c = check({
      cleanOf: [['untrusted_input']],
      gates: [
        { ruleIndex: 0, touched: ['private_data'], called: null },
        { ruleIndex: 1, touched: ['untrusted_input'], called: ['read_*'], approve: true },
      ],
    });
    expect(taintHit(c, facts(['untrusted_input'], ['read_crm']))).toEqual({
      held: ['untrusted_input', 'called:read_crm'],
      ruleIndex: 1,
      approve: true,
    });
    // Gate 1 needs both: with no read_* call, the matched rule's cleanOf decides.
    expect(taintHit(c, facts(['untrusted_input'], ['fetch']))).toEqual({
      held: ['untrusted_input'],
      ruleIndex: 5,
      approve: false,
    });
    expect(taintHit(c, facts([], ['read_crm']))).toBeNull();
  });

  it('touched holds on ANY of its labels; called on ANY glob', () => {
    const c = check({ gates: [{ ruleIndex: 2, touched: ['a', 'b'], called: null }] });
    expect(taintHit(c, facts(['b'], []))!.held).toEqual(['b']);
    const g = check({ gates: [{ ruleIndex: 2, touched: null, called: ['x', 'read_*'] }] });
    expect(taintHit(g, facts([], ['write', 'read_mail']))!.held).toEqual(['called:read_mail']);
    expect(taintHit(g, facts([], ['write']))).toBeNull();
  });
});
