import { describe, expect, it } from 'vitest';
import { packsSelecting } from './inspection.compile.ts';
import type { Pack, Rule } from './inspection.schema.ts';

const rule = { id: 'custom.token', category: 'secret', severity: 'medium' } as Rule;
const pack = (name: string, fields: Partial<Pack>): Pack =>
  ({ name, description: '', rules: [], categories: [], ...fields }) as Pack;

describe('packsSelecting', () => {
  it('names the custom packs that select a rule by id, or by category from their minimum severity', () => {
    const packs = [
      pack('by-id', { rules: ['custom.token'] }),
      pack('by-category', { categories: ['secret'] }),
      pack('too-severe', { categories: ['secret'], minSeverity: 'high' }),
      pack('other-category', { categories: ['pii'] }),
      pack('other-id', { rules: ['pii.email'] }),
    ];
    expect(packsSelecting([rule], packs)).toEqual(['by-id', 'by-category']);
  });

  it('judges the rule before and after a change: a new category joins other packs', () => {
    const moved = { ...rule, category: 'pii' } as Rule;
    const packs = [pack('secrets', { categories: ['secret'] }), pack('personal', { categories: ['pii'] })];
    expect(packsSelecting([moved], packs)).toEqual(['personal']);
    expect(packsSelecting([rule, moved], packs)).toEqual(['secrets', 'personal']);
  });
});
