/**
 * Redaction with stable typed placeholders, and the streaming unmasker, tested over every split
 * point of the answer (a placeholder cut anywhere must still be restored).
 */
import { describe, expect, it } from 'vitest';
import { builtinRules, packsNamed } from './inspection.builtin.js';
import { compileRules } from './inspection.engine.js';
import { createRedactionSession, redact, redactJson } from './inspection.redact.js';
import { createUnmasker, unmask } from './inspection.unmask.js';

const engine = compileRules(builtinRules(), packsNamed(['llm-compliance-gdpr', 'secrets-default']));

describe('redact', () => {
  it('replaces values with typed placeholders, the same value with the same placeholder', () => {
    const session = createRedactionSession();
    const a = 'Mail jane@corp.example.com or bob@corp.example.com, card 4111 1111 1111 1111.';
    const first = redact(a, engine.scan(a, 'prompt'), session);
    expect(first.text).toBe('Mail [EMAIL_1] or [EMAIL_2], card [CARD_1].');
    const b = 'Again: jane@corp.example.com';
    expect(redact(b, engine.scan(b, 'prompt'), session).text).toBe('Again: [EMAIL_1]');
    expect(session.mapping.get('[CARD_1]')).toBe('4111 1111 1111 1111');
  });

  it('skips placeholder numbers the text already spells', () => {
    const text = 'literal [EMAIL_1] and jane@corp.example.com';
    expect(redact(text, engine.scan(text, 'prompt')).text).toBe('literal [EMAIL_1] and [EMAIL_2]');
  });

  it('redacts strings inside JSON at the findings locations', () => {
    const value = { messages: [{ role: 'user', content: 'I am jane@corp.example.com' }], n: 1 };
    const session = createRedactionSession();
    expect(redactJson(value, engine.scanJson(value, 'prompt'), session)).toEqual({
      messages: [{ role: 'user', content: 'I am [EMAIL_1]' }],
      n: 1,
    });
  });
});

describe('unmask', () => {
  const mapping = new Map([
    ['[EMAIL_1]', 'jane@corp.example.com'],
    ['[CARD_12]', '4111 1111 1111 1111'],
  ]);
  const answer = 'Sent to [EMAIL_1]; charged [CARD_12]. Not ours: [NAME_9] [EMAIL_ and [x]. End [EMAIL_1]';
  const expected = unmask(answer, mapping);

  it('restores known placeholders and leaves the rest', () => {
    expect(expected).toBe(
      'Sent to jane@corp.example.com; charged 4111 1111 1111 1111. Not ours: [NAME_9] [EMAIL_ and [x]. End jane@corp.example.com',
    );
  });

  it('restores placeholders split at every single point', () => {
    for (let i = 0; i <= answer.length; i++) {
      const u = createUnmasker(mapping);
      expect(u.push(answer.slice(0, i)) + u.push(answer.slice(i)) + u.flush(), `split at ${i}`).toBe(
        expected,
      );
    }
  });

  it('restores placeholders split at every pair of points, holding back at most one placeholder', () => {
    const longest = Math.max(...[...mapping.keys()].map((k) => k.length));
    for (let i = 0; i <= answer.length; i++)
      for (let j = i; j <= answer.length; j++) {
        const u = createUnmasker(mapping);
        let out = '';
        let seen = 0;
        for (const chunk of [answer.slice(0, i), answer.slice(i, j), answer.slice(j)]) {
          out += u.push(chunk);
          seen += chunk.length;
          expect(seen - unmaskedLength(out, mapping)).toBeLessThan(longest);
        }
        expect(out + u.flush(), `split at ${i},${j}`).toBe(expected);
      }
  });

  it('streams one character at a time', () => {
    const u = createUnmasker(mapping);
    expect([...answer].map((c) => u.push(c)).join('') + u.flush()).toBe(expected);
  });
});

/** How many characters of the original answer `out` covers (placeholders counted at their own length). */
function unmaskedLength(out: string, mapping: Map<string, string>): number {
  let n = out.length;
  for (const [placeholder, value] of mapping)
    n +=
      out.split(value).length - 1 ? (out.split(value).length - 1) * (placeholder.length - value.length) : 0;
  return n;
}
