/**
 * The built-in rules and packs as data: every file matches the schema, every pattern passes the
 * backtracking checks, and every rule's positive examples are found and negative ones are not.
 */
import { describe, expect, it } from 'vitest';
import { builtinPacks, builtinRules, packsNamed } from './inspection.builtin.js';
import { selectRules } from './inspection.compile.js';
import { checkRuleSetExamples } from './inspection.custom.js';
import { checkPattern } from './inspection.regex.js';
import { CATEGORIES } from './inspection.schema.js';

const rules = builtinRules();
/** One engine of every rule, every example through it (signal rules need the others). */
const exampleErrors = checkRuleSetExamples(rules);

describe('built-in rules', () => {
  it('are at least 250, with unique ids, in every category', () => {
    expect(rules.length).toBeGreaterThanOrEqual(250);
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
    for (const category of CATEGORIES)
      expect(rules.filter((r) => r.category === category).length).toBeGreaterThan(5);
  });

  it('have patterns that pass the backtracking checks', () => {
    for (const rule of rules) {
      if (rule.detection.pattern === undefined) continue;
      const checked = checkPattern(rule.detection.pattern, !rule.detection.caseSensitive);
      expect(checked.ok ? [] : checked.errors, rule.id).toEqual([]);
    }
  });

  it.each(CATEGORIES)('%s: every positive example is found and no negative one is', (category) => {
    const errors = exampleErrors.filter((e) => e.ruleId.startsWith(`${category}.`));
    expect(errors).toEqual([]);
  });

  it('counts examples: each rule has at least one positive and one negative', () => {
    for (const rule of rules) {
      expect(rule.examples.positive.length, rule.id).toBeGreaterThan(0);
      expect(rule.examples.negative.length, rule.id).toBeGreaterThan(0);
    }
  });
});

describe('built-in packs', () => {
  const names = [
    'mcp-advanced-security',
    'mcp-encoding-detection-security',
    'llm-critical-security',
    'llm-standard-security',
    'llm-compliance-gdpr',
    'pii-default',
    'secrets-default',
  ];

  it('are the seven named packs, each selecting rules', () => {
    expect([...builtinPacks().keys()].sort()).toEqual([...names].sort());
    for (const pack of packsNamed(names))
      expect(selectRules(rules, [pack]).length, pack.name).toBeGreaterThan(5);
  });

  it('name only rules that exist', () => {
    const ids = new Set(rules.map((r) => r.id));
    for (const pack of builtinPacks().values())
      for (const id of pack.rules) expect(ids.has(id), id).toBe(true);
  });

  it('apply their minimum severity to categories', () => {
    const critical = selectRules(rules, packsNamed(['llm-critical-security']));
    expect(critical.every((r) => r.severity === 'high' || r.severity === 'critical')).toBe(true);
    expect(critical.some((r) => r.id === 'jailbreak.mentions_jailbreak')).toBe(false);
  });

  it("select built-in rules only: an organization's custom rule of the same category joins no built-in pack", () => {
    const custom = {
      ...rules.find((r) => r.category === 'secret')!,
      id: 'custom.ticket',
      detection: { literals: ['TICKET-'], pattern: 'TICKET-\\d{6}' },
    };
    const own = { name: 'tickets', description: 'ours', rules: [], categories: ['secret' as const] };
    const [mcp] = packsNamed(['mcp-advanced-security']);
    expect(mcp!.categories).toContain('secret');
    expect(selectRules([...rules, custom], [mcp!]).map((r) => r.id)).not.toContain('custom.ticket');
    // A custom pack's categories include the organization's custom rules.
    expect(selectRules([...rules, custom], [own]).map((r) => r.id)).toContain('custom.ticket');
  });

  it('refuses an unknown pack name', () => {
    expect(() => packsNamed(['no-such-pack'])).toThrow(/unknown detection pack/);
  });
});
