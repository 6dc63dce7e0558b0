import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GOVERNED_METHODS,
  governedName,
  InvalidGovernedParamsError,
  isGovernedMethod,
  resolveGovernedName,
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
