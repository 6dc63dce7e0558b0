import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classifyMethod,
  exceedsUtf8Bytes,
  GOVERNED_METHODS,
  governedName,
  hasHiddenCharacter,
  InvalidGovernedParamsError,
  isGovernedMethod,
  resolveGovernedName,
  UNGOVERNED_METHODS,
} from './policy.methods.ts';

describe('governedName', () => {
  it('uses the tool name for tools/call', () => {
    expect(governedName('tools/call', { name: 'delete_repo', arguments: { repo: 'x' } })).toBe('delete_repo');
  });

  it('namespaces resources and prompts', () => {
    expect(governedName('resources/read', { uri: 'file:///etc/hosts' })).toBe('resource:file:///etc/hosts');
    expect(governedName('prompts/get', { name: 'summarize', arguments: {} })).toBe('prompt:summarize');
  });

  it.each([
    'initialize',
    'notifications/initialized',
    'ping',
    'tools/list',
    'resources/list',
    'resources/templates/list',
    'prompts/list',
    'logging/setLevel',
    'Tools/Call',
    '',
  ])('does not govern %j', (method) => {
    expect(governedName(method, { name: 'x', uri: 'y' })).toBeNull();
    expect(governedName(method, undefined)).toBeNull();
  });

  it.each([
    ['tools/call', undefined],
    ['tools/call', null],
    ['tools/call', []],
    ['tools/call', 'delete_repo'],
    ['tools/call', {}],
    ['tools/call', { name: '' }],
    ['tools/call', { name: ['delete_repo'] }],
    ['tools/call', { name: 42 }],
    ['resources/read', { name: 'x' }],
    ['resources/read', { uri: { href: 'x' } }],
    ['prompts/get', { uri: 'x' }],
  ])('refuses (throws, never returns null) for %s with params %j', (method, params) => {
    // null would mean "not governed" and let a malformed governed call through unchecked.
    expect(() => governedName(method, params)).toThrow(InvalidGovernedParamsError);
  });

  it('never returns null for a governed method', () => {
    fc.assert(
      fc.property(fc.constantFrom(...GOVERNED_METHODS), fc.jsonValue(), (method, params) => {
        let result: string | null = 'threw';
        try {
          result = governedName(method, params);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidGovernedParamsError);
        }
        expect(result).not.toBeNull();
      }),
    );
  });
});

describe('resolveGovernedName', () => {
  it('distinguishes ungoverned, governed and invalid', () => {
    expect(resolveGovernedName('ping', null)).toEqual({ kind: 'ungoverned' });
    expect(resolveGovernedName('tools/call', { name: 'a' })).toEqual({ kind: 'governed', name: 'a' });
    expect(resolveGovernedName('resources/read', {})).toEqual({
      kind: 'invalid',
      message: 'resources/read requires params.uri to be a non-empty string',
    });
  });
});

describe('isGovernedMethod', () => {
  it('recognises exactly the governed methods', () => {
    expect(GOVERNED_METHODS.every(isGovernedMethod)).toBe(true);
    expect(isGovernedMethod('tools/list')).toBe(false);
    expect(isGovernedMethod('tools/call ')).toBe(false);
  });
});

describe('methods that reach a named resource or prompt indirectly', () => {
  it('governs resources/subscribe by the resource URI', () => {
    expect(governedName('resources/subscribe', { uri: 'file:///secrets.txt' })).toBe(
      'resource:file:///secrets.txt',
    );
    expect(resolveGovernedName('resources/subscribe', {}).kind).toBe('invalid');
  });

  it('governs completion/complete by the referenced prompt or resource', () => {
    expect(
      governedName('completion/complete', {
        ref: { type: 'ref/prompt', name: 'greet' },
        argument: { name: 'who', value: 'a' },
      }),
    ).toBe('prompt:greet');
    expect(governedName('completion/complete', { ref: { type: 'ref/resource', uri: 'db://{table}' } })).toBe(
      'resource:db://{table}',
    );
    expect(resolveGovernedName('completion/complete', { ref: { type: 'ref/other', name: 'x' } }).kind).toBe(
      'invalid',
    );
    expect(resolveGovernedName('completion/complete', {}).kind).toBe('invalid');
  });
});

describe('governed-name length cap', () => {
  const at = (n: number, unit = 'a') => unit.repeat(n);

  it.each([
    ['tools/call', { name: at(513) }],
    ['prompts/get', { name: at(513) }],
    ['resources/read', { uri: `file:///${at(600)}` }],
    ['resources/subscribe', { uri: `file:///${at(600)}` }],
    ['completion/complete', { ref: { type: 'ref/prompt', name: at(513) } }],
    ['completion/complete', { ref: { type: 'ref/resource', uri: at(513) } }],
    ['tools/call', { name: at(1024 * 1024) }],
    // 171 × 'é' is 342 bytes; 257 is 514: the cap counts UTF-8 bytes, not characters.
    ['tools/call', { name: at(257, 'é') }],
    ['tools/call', { name: at(129, '😀') }],
  ])('%s with a name over 512 bytes is invalid (refused before any matching)', (method, params) => {
    const result = resolveGovernedName(method, params);
    expect(result.kind).toBe('invalid');
    expect(result.kind === 'invalid' && result.message).toContain('longer than 512 bytes');
  });

  it.each([[at(512)], [at(256, 'é')], [at(128, '😀')], [at(170, '中')]])(
    'accepts a name of exactly 512 bytes or less (%#)',
    (name) => {
      expect(resolveGovernedName('tools/call', { name })).toEqual({ kind: 'governed', name });
    },
  );

  it('counts UTF-8 bytes exactly', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.oneof(fc.constantFrom('a', 'é', '中', '\ud800', '\udc00'), fc.constant('😀')),
          maxLength: 300,
        }),
        fc.integer({ min: 0, max: 600 }),
        (s, max) => {
          expect(exceedsUtf8Bytes(s, max)).toBe(new TextEncoder().encode(s).length > max);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('whitespace, control and invisible characters in governed names', () => {
  it.each([
    ['trailing space', 'echo '],
    ['leading space', ' echo'],
    ['tab', 'echo\t'],
    ['newline', 'echo\n'],
    ['carriage return', 'echo\r'],
    ['no-break space', 'echo\u00a0'],
    ['ideographic space', 'echo\u3000'],
    ['line separator', 'echo\u2028'],
    ['NUL', 'echo\u0000'],
    ['DEL', 'echo\u007f'],
    ['C1 control', 'echo\u0085'],
    ['zero-width space', 'ec\u200bho'],
    ['zero-width joiner', 'ec\u200dho'],
    ['word joiner', 'echo\u2060'],
    ['byte-order mark', '\ufeffecho'],
    ['soft hyphen', 'ec\u00adho'],
    ['bidi override', 'ec\u202eho'],
    ['bidi isolate', 'echo\u2066'],
    ['tag character', 'echo\u{e0041}'],
    ['variation selector', 'echo\ufe0f'],
    ['Hangul filler', 'echo\u3164'],
    ['combining grapheme joiner', 'echo\u034f'],
    ['lone surrogate', 'echo\ud800'],
  ])('refuses a name with a %s', (_label, name) => {
    expect(hasHiddenCharacter(name)).toBe(true);
    const result = resolveGovernedName('tools/call', { name });
    expect(result.kind).toBe('invalid');
    expect(result.kind === 'invalid' && result.message).toBe(
      'tools/call params.name contains whitespace, control or invisible characters: no tool, prompt or resource is named like that',
    );
    expect(() => governedName('tools/call', { name })).toThrow(InvalidGovernedParamsError);
  });

  it.each([
    ['prompts/get', { name: 'summary ' }],
    ['resources/read', { uri: 'file:///notes .txt' }],
    ['resources/subscribe', { uri: 'file:///notes\u200b.txt' }],
    ['completion/complete', { ref: { type: 'ref/prompt', name: '\tsummary' } }],
    ['completion/complete', { ref: { type: 'ref/resource', uri: 'file:///a\nb' } }],
  ])('refuses them in every governed name: %s', (method, params) => {
    expect(resolveGovernedName(method, params).kind).toBe('invalid');
  });

  it.each([
    ['plain', 'echo'],
    ['punctuated', 'github.create-issue_v2/x:y'],
    ['accented', 'résumé'],
    ['CJK', '翻訳する'],
    ['emoji', 'rocket_🚀'],
    // Look-alikes are no hidden character: the policy folds them (policy.normalize.ts).
    ['Cyrillic о', 'ech\u043e'],
    ['percent-encoded space in a URI', 'file:///notes%20a.txt'],
  ])('accepts a name without any (%s)', (_label, name) => {
    expect(hasHiddenCharacter(name)).toBe(false);
    expect(resolveGovernedName('tools/call', { name })).toEqual({ kind: 'governed', name });
  });
});

describe('classifyMethod', () => {
  it('knows the governed and the ungoverned client methods, exactly as spelled', () => {
    for (const method of GOVERNED_METHODS) expect(classifyMethod(method)).toBe('governed');
    for (const method of UNGOVERNED_METHODS) expect(classifyMethod(method)).toBe('ungoverned');
    expect(classifyMethod('notifications/initialized')).toBe('ungoverned');
    expect(classifyMethod('tasks/get')).toBe('ungoverned');
  });

  it.each([
    'Tools/Call',
    'tools/call ',
    ' tools/call',
    'TOOLS/CALL',
    'tools/call\u200b',
    'tools\u2215call',
    'tools/calls',
    'sampling/createMessage',
    'elicitation/create',
    'notifications/message',
    'constructor',
    '__proto__',
    '',
  ])('refuses anything else as unknown: %j', (method) => {
    expect(classifyMethod(method)).toBe('unknown');
  });
});
