import { describe, expect, it } from 'vitest';
import { type Policy, parsePolicy } from './policy.schema.js';
import { argumentWarnings } from './policy.warnings.js';

function parsed(rules: unknown[]): Policy {
  const result = parsePolicy({ rules });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.policy;
}

const schemas = new Map<string, unknown>([
  [
    'write_file',
    {
      type: 'object',
      properties: { path: { type: 'string' }, content: { type: 'string' }, mode: { type: 'integer' } },
      required: ['path'],
    },
  ],
  [
    'transfer',
    {
      type: 'object',
      properties: { amount: { type: 'number' }, to: { type: 'array', items: { type: 'string' } } },
    },
  ],
  ['free_form', { type: 'object', additionalProperties: true }],
]);

describe('argumentWarnings (schema-aware)', () => {
  it('warns when a rule names an argument the input schema lacks', () => {
    const warnings = argumentWarnings(
      parsed([{ tool: 'write_*', action: 'allow', conditions: { 'args.filename': { pathWithin: ['/w'] } } }]),
      schemas,
    );
    expect(warnings).toEqual([
      expect.objectContaining({
        ruleIndex: 0,
        path: 'rules[0].conditions.args.filename',
        tool: 'write_file',
      }),
    ]);
    expect(warnings[0]!.message).toContain('no argument "filename"');
  });

  it('warns when the operator needs a type the argument does not have', () => {
    const warnings = argumentWarnings(
      parsed([
        { tool: 'write_file', action: 'allow', conditions: { 'args.mode': { prefix: '07' } } },
        {
          tool: 'transfer',
          action: 'allow',
          conditions: { 'args.amount': { lte: 100 }, 'args.to.0': { suffix: '@bank' } },
        },
        { tool: 'transfer', action: 'deny', conditions: { 'args.amount': '100' } },
      ]),
      schemas,
    );
    expect(warnings.map((w) => [w.ruleIndex, w.path])).toEqual([
      [0, 'rules[0].conditions.args.mode'],
      [2, 'rules[2].conditions.args.amount'],
    ]);
    expect(warnings[0]!.message).toContain('number in its input schema, but prefix needs string');
  });

  it('says nothing for open schemas, unmatched tools, LLM rules or when no schema is known', () => {
    const policy = parsed([
      { tool: 'free_form', action: 'allow', conditions: { 'args.anything': 1 } },
      { tool: 'other', action: 'allow', conditions: { 'args.x': 1 } },
      { model: 'gpt-*', action: 'allow', conditions: { 'args.temperature': { lte: 1 } } },
    ]);
    expect(argumentWarnings(policy, schemas)).toEqual([]);
    expect(
      argumentWarnings(
        parsed([{ tool: 'write_file', action: 'allow', conditions: { 'args.nope': 1 } }]),
        new Map(),
      ),
    ).toEqual([]);
  });
});
