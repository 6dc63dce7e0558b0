/**
 * Glued values (inspection.glue.ts, docs/detections.md#glued-values): values glued to each other,
 * to words or to punctuation their rule's boundaries refuse are masked whole — no fragment of any
 * of them is left readable — and adjacent values that are not glued keep their own placeholders.
 * Pathological runs are checked on their output only (their speed is in bench/inspection.bench.ts).
 */
import { describe, expect, it } from 'vitest';
import { builtinRules, packsNamed } from './inspection.builtin.js';
import { validateCustomRule } from './inspection.custom.js';
import { compileRules } from './inspection.engine.js';
import { redact } from './inspection.redact.js';

const engine = compileRules(builtinRules(), packsNamed(['llm-compliance-gdpr', 'secrets-default']));
const masked = (text: string) => redact(text, engine.redactSpans(text, 'prompt')).text;

/** The text with its placeholders taken out: what a reader of the masked text still sees. */
const readable = (text: string) => text.replace(/\[[A-Z]{2,16}_\d+\]/g, ' ');

/** Fails when a run of 3+ letters or digits of `value` is still readable in `out`. */
function expectNoFragment(out: string, values: readonly string[]) {
  const seen = readable(out);
  for (const value of values)
    for (const piece of value.match(/[A-Za-z0-9]{3,}/g) ?? [])
      expect(seen, `"${piece}" of ${value} is readable in ${out}`).not.toContain(piece);
}

const GH1 = 'ghp_ZNPMgTZ4hyW40P9BHK2z9cRcTA6g5SpU8qxr';
const GH2 = 'ghp_NktozuPiz02n6o0Wh0tDM26A7czMK3rtEOSp';
const AWS1 = 'AKIAZ7Q4RXW2LM5PT3NB';
const AWS2 = 'AKIAQ3M7XK2PL9RT4VWY';
const b64url = (s: string) => btoa(s).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
const jwt = (sub: string) =>
  `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(`{"sub":"${sub}","name":"Jane"}`)}.${'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'}`;
const JWT1 = jwt('1234567890');
const JWT2 = jwt('0987654321');

describe('e-mail addresses', () => {
  it('masks the reported case whole: the second address started after a "+"', () => {
    const text = 'jane.doe@example.comops+alerts@corp.example.net';
    const out = masked(text);
    expect(out).toBe('[EMAIL_1]');
    expectNoFragment(out, ['jane.doe@example.com', 'ops+alerts@corp.example.net']);
  });

  it.each([
    ['after a dot', 'x.a@bb.co.c@dd.co', ['x.a@bb.co', 'c@dd.co']],
    ['after a dash', 'aa@bb.co-cc@dd.co', ['aa@bb.co', 'cc@dd.co']],
    ['after an underscore', 'aa@bb.co_cc@dd.co', ['aa@bb.co', 'cc@dd.co']],
    ['after a digit', 'aa@bb.co1cc@dd.co', ['aa@bb.co', 'cc@dd.co']],
    ['with nothing between', 'aa@bb.cocc@dd.co', ['aa@bb.co', 'cc@dd.co']],
    ['sharing an @', 'aa@bb.co@dd.co', ['aa@bb.co', 'dd.co']],
    [
      'three in a row',
      'one@mail.example.orgtwo@x.iothree+x@y.dev',
      ['one@mail.example.org', 'two@x.io', 'three+x@y.dev'],
    ],
  ])('masks addresses glued %s whole', (_how, text, values) => {
    const out = masked(`write ${text} now`);
    expect(out).toBe('write [EMAIL_1] now');
    expectNoFragment(out, values);
  });

  it.each([
    ['an underscore before', '_jane@example.com', '_[EMAIL_1]'],
    ['a plus before', '+jane@example.com', '+[EMAIL_1]'],
    ['a word after', 'jane@example.com_backup', '[EMAIL_1]'],
    ['digits after', 'jane@example.com2024', '[EMAIL_1]'],
  ])('masks an address glued to %s (its boundary refused it whole before)', (_how, text, expected) => {
    const out = masked(text);
    expect(out).toBe(expected);
    expectNoFragment(out, ['jane@example.com']);
  });

  it('keeps adjacent addresses apart, and the punctuation around them readable', () => {
    expect(masked('aa@bb.co,cc@dd.co; ee@ff.co.')).toBe('[EMAIL_1],[EMAIL_2]; [EMAIL_3].');
    expect(masked('Mail jane@example.com. Or <bob@example.org>!')).toBe('Mail [EMAIL_1]. Or <[EMAIL_2]>!');
  });

  it('gives a glued run one placeholder, and the same run the same one again', () => {
    const text =
      'a jane.doe@example.comops+alerts@corp.example.net b jane.doe@example.comops+alerts@corp.example.net';
    expect(masked(text)).toBe('a [EMAIL_1] b [EMAIL_1]');
  });
});

describe('phone numbers', () => {
  it.each([
    ['+14155550123+14155550124', ['14155550123', '14155550124']],
    ['+1 415 555 0123+44 20 7946 0958', ['415', '555', '0123', '7946', '0958']],
  ])('masks international numbers glued to each other whole: %s', (text, pieces) => {
    const out = masked(`call ${text} today`);
    expect(out).toBe('call [PHONE_1] today');
    expectNoFragment(out, pieces);
  });

  it('keeps a full stop after a number, and numbers on their own lines apart', () => {
    expect(masked('call +1 415 555 0123. Thanks')).toBe('call [PHONE_1]. Thanks');
    expect(masked('+1 415 555 0123\n+44 20 7946 0958')).toBe('[PHONE_1]\n[PHONE_2]');
  });
});

describe('keys', () => {
  it.each([
    ['two GitHub tokens', `${GH1}${GH2}`, [GH1, GH2]],
    ['a word before a GitHub token', `mytoken${GH1}`, [GH1]],
    ['a word after a GitHub token', `${GH1}_backup`, [GH1]],
    ['two AWS key ids', `${AWS1}${AWS2}`, [AWS1, AWS2]],
    ['AWS key ids joined by an underscore', `${AWS1}_${AWS2}`, [AWS1, AWS2]],
    ['two JWTs', `${JWT1}${JWT2}`, [JWT1, JWT2]],
  ])('masks %s whole', (_what, text, values) => {
    const out = masked(`key ${text} end`);
    expect(out).toBe('key [SECRET_1] end');
    expectNoFragment(
      out,
      values.flatMap((v) => v.split(/[._-]/)),
    );
  });

  it('keeps GitHub tokens joined by a dot apart (a dot separates JSON path keys), each masked whole', () => {
    const out = masked(`key ${GH1}.${GH2} end`);
    expect(out).toBe('key [SECRET_1].[SECRET_2] end');
    expectNoFragment(out, [GH1, GH2]);
  });

  it('keeps a key apart from the sentence around it', () => {
    expect(masked(`the key is ${AWS1}. Next, ${GH1}, then`)).toBe(
      'the key is [SECRET_1]. Next, [SECRET_2], then',
    );
  });
});

describe('overlapping values of two rules', () => {
  it('masks a token glued to an address as one span, typed by the more severe rule', () => {
    const out = masked(`see ${GH1}jane@example.com`);
    expect(out).toBe('see [SECRET_1]');
    expectNoFragment(out, [GH1, 'jane@example.com']);
  });
});

describe('pathological runs', () => {
  const KB100 = 100 * 1024;
  const fill = (unit: string) => unit.repeat(Math.ceil(KB100 / unit.length)).slice(0, KB100);

  it('masks 100 KB of glued addresses as one value (the "+" it ends with is no part of one)', () => {
    const text = fill('a@bb.cc+');
    expect(text.endsWith('+')).toBe(true);
    expect(masked(text)).toBe('[EMAIL_1]+');
  });

  it('leaves 100 KB of "a@b.c+" as it is (no address: one-letter domains), and masks one glued to its end', () => {
    const text = fill('a@b.c+');
    expect(masked(text)).toBe(text);
    expect(masked(`${text}jane@example.com`)).toBe('[EMAIL_1]');
  });

  it('masks an address followed by 100 KB of word characters, and keeps 100 KB of "+1" runs apart', () => {
    expect(masked(`jane@example.com${'x'.repeat(KB100)} end`)).toBe('[EMAIL_1] end');
    const plus = fill('+1');
    expect(masked(plus)).toBe(plus); // no number: two digits at most
    expect(masked(`${fill('ghp_')} ${GH1}`)).toBe(`${fill('ghp_')} [SECRET_1]`);
  });

  it('finds every glued address of a long run of separate runs (one placeholder each)', () => {
    const text = Array.from({ length: 2000 }, (_, i) => `u${i}@x${i}.example.comv${i}+w@y.io`).join(' ');
    const out = masked(text);
    expect(readable(out).trim()).toBe('');
    expect(out.split(' ')).toHaveLength(2000);
    expect(out.endsWith('[EMAIL_2000]')).toBe(true);
  });
});

describe('the glue of a custom rule', () => {
  const rule = (glue: string) => ({
    id: 'custom.acme_ticket',
    category: 'secret',
    severity: 'high',
    where: ['args', 'prompt'],
    action: 'redact',
    description: 'ACME internal ticket tokens',
    detection: { literals: ['acme-'], pattern: 'ACME-[0-9a-f]{8}', glue },
    examples: { positive: ['token ACME-7f3a9c21'], negative: ['ACME corp'] },
  });

  it('is a bracket class of ASCII characters', () => {
    expect(validateCustomRule(rule('[A-Za-z0-9_-]')).ok).toBe(true);
    for (const bad of ['[a]|.*[b]', 'x+', '[]', '[\u00e9]', '(?:[a])']) {
      const result = validateCustomRule(rule(bad));
      expect(result.ok, bad).toBe(false);
      if (!result.ok) expect(result.errors[0]).toMatchObject({ code: 'schema', path: 'detection.glue' });
    }
  });

  it('keeps the whole of a match that merges into a run and ends on a character the trim takes off', () => {
    // A space in the pattern that the glue lacks: the glue does not hold its matches, so the second
    // value is matched inside the first one's run and merged; its own last character is a dash.
    const validated = validateCustomRule({
      ...rule('[A-Za-z0-9-]'),
      detection: { literals: ['acme'], pattern: 'ACME[ ]?[0-9a-f]{4}-?', glue: '[A-Za-z0-9-]' },
      examples: { positive: ['token ACME 7f3a'], negative: ['ACME corp'] },
    });
    if (!validated.ok) throw new Error(JSON.stringify(validated.errors));
    const custom = compileRules([validated.rule], 'all');
    const text = 'see ACME0011ACME0022- now';
    expect(redact(text, custom.redactSpans(text, 'prompt')).text).toBe('see [SECRET_1] now');
  });

  it('widens the custom rule’s matches over it', () => {
    const validated = validateCustomRule(rule('[A-Za-z0-9_-]'));
    if (!validated.ok) throw new Error('refused');
    const custom = compileRules([validated.rule], 'all');
    const text = 'see ACME-7f3a9c21ACME-0011aabb now';
    expect(redact(text, custom.redactSpans(text, 'prompt')).text).toBe('see [SECRET_1] now');
  });
});
