import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compilePolicy, couldAllowCaller, type EvaluationRequest, evaluate } from './policy.evaluate.js';
import { explain } from './policy.explain.js';
import { normalizePath, urlHost } from './policy.paths.js';
import { compilePattern } from './policy.pattern.js';
import { type Policy, parsePolicy } from './policy.schema.js';

function policy(rules: unknown[]): ReturnType<typeof compilePolicy> {
  const parsed = parsePolicy({ rules });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return compilePolicy(parsed.policy as Policy, 1);
}

function decide(rules: unknown[], tool: string, args: Record<string, unknown> | null) {
  return evaluate(policy(rules), { tool, args });
}

function issues(rules: unknown[]) {
  const parsed = parsePolicy({ rules });
  return parsed.ok ? [] : parsed.issues;
}

describe('args.<path> conditions', () => {
  it('reads MCP arguments by path, including array indexes, never inherited keys', () => {
    const rules = [
      { tool: 'send', action: 'allow', conditions: { 'args.to.0': { suffix: '@example.com' } } },
      { tool: 'x', action: 'allow', conditions: { 'args.constructor': { exists: true } } },
    ];
    expect(decide(rules, 'send', { to: ['a@example.com'] }).action).toBe('allow');
    expect(decide(rules, 'send', { to: ['a@evil.com', 'b@example.com'] }).matched).toBe(false);
    expect(decide(rules, 'send', { to: { 0: 'a@example.com' } }).action).toBe('allow');
    expect(decide(rules, 'send', { to: [] }).matched).toBe(false);
    expect(decide(rules, 'x', {}).matched).toBe(false);
  });

  it('numeric operators are strict about type', () => {
    const rules = [
      { tool: 'transfer', action: 'deny', conditions: { 'args.amount': { gt: 1000 } }, reason: 'over limit' },
      { tool: 'transfer', action: 'allow', conditions: { 'args.amount': { lte: 1000 } } },
    ];
    expect(decide(rules, 'transfer', { amount: 1000 }).action).toBe('allow');
    expect(decide(rules, 'transfer', { amount: 1000.5 }).reason).toBe('over limit');
    // The string "5000" is no number: both rules skip and the default deny applies.
    expect(decide(rules, 'transfer', { amount: '5000' }).matched).toBe(false);
    expect(decide(rules, 'transfer', {}).matched).toBe(false);
    const lt = [{ tool: 't', action: 'allow', conditions: { 'args.n': { lt: 0 } } }];
    const gte = [{ tool: 't', action: 'allow', conditions: { 'args.n': { gte: 0 } } }];
    expect(decide(lt, 't', { n: -1 }).action).toBe('allow');
    expect(decide(lt, 't', { n: 0 }).matched).toBe(false);
    expect(decide(gte, 't', { n: 0 }).action).toBe('allow');
  });

  it('prefix, suffix, glob, maxLength, exists', () => {
    const one = (condition: unknown, value: unknown) =>
      decide(
        [{ tool: 't', action: 'allow', conditions: { 'args.v': condition } }],
        't',
        value === undefined ? {} : { v: value },
      ).action === 'allow' &&
      decide(
        [{ tool: 't', action: 'allow', conditions: { 'args.v': condition } }],
        't',
        value === undefined ? {} : { v: value },
      ).matched;
    expect(one({ prefix: 'ab' }, 'abc')).toBe(true);
    expect(one({ prefix: 'ab' }, 'xab')).toBe(false);
    expect(one({ prefix: '1' }, 12)).toBe(false);
    expect(one({ suffix: '.md' }, 'a.md')).toBe(true);
    expect(one({ glob: 'report-*.pdf' }, 'report-2026.pdf')).toBe(true);
    expect(one({ glob: 'report-*.pdf' }, 'report-2026.pdf.exe')).toBe(false);
    expect(one({ maxLength: 3 }, 'abc')).toBe(true);
    expect(one({ maxLength: 3 }, 'abcd')).toBe(false);
    expect(one({ maxLength: 2 }, ['a', 'b'])).toBe(true);
    expect(one({ maxLength: 2 }, ['a', 'b', 'c'])).toBe(false);
    expect(one({ maxLength: 3 }, 123)).toBe(false);
    expect(one({ exists: true }, 0)).toBe(true);
    expect(one({ exists: true }, null)).toBe(false);
    expect(one({ exists: true }, undefined)).toBe(false);
    expect(one({ exists: false }, undefined)).toBe(true);
    expect(one({ exists: false }, null)).toBe(true);
    expect(one({ exists: false }, '')).toBe(false);
  });

  it('hostIn compares the parsed host, with *. wildcards, and fails unparsable URLs', () => {
    const rules = [
      {
        tool: 'fetch',
        action: 'allow',
        conditions: { 'args.url': { hostIn: ['api.example.com', '*.Docs.Example.com.'] } },
      },
    ];
    const allowed = (url: unknown) => decide(rules, 'fetch', { url }).matched;
    expect(allowed('https://api.example.com/v1')).toBe(true);
    expect(allowed('HTTPS://API.EXAMPLE.COM./v1')).toBe(true);
    expect(allowed('https://a.docs.example.com/x')).toBe(true);
    expect(allowed('https://docs.example.com/x')).toBe(false); // `*.` is subdomains only
    expect(allowed('https://api.example.com@evil.com/')).toBe(false);
    expect(allowed('https://evil.com\\@api.example.com/')).toBe(false);
    expect(allowed('https://api.example.com.evil.com/')).toBe(false);
    expect(allowed('https://evilapi.example.com/')).toBe(false);
    expect(allowed('https://evil.com/?u=https://api.example.com')).toBe(false);
    expect(allowed('api.example.com')).toBe(false); // not a URL
    expect(allowed('not a url')).toBe(false);
    expect(allowed(42)).toBe(false);
    expect(urlHost('https://%61pi.example.com/')).toBe('api.example.com');
  });

  it('pathWithin normalises .., ., //, percent-encoding and backslashes; relative paths fail', () => {
    const rules = [
      { tool: 'write_file', action: 'allow', conditions: { 'args.path': { pathWithin: ['/srv/work/'] } } },
    ];
    const inside = (path: unknown) => decide(rules, 'write_file', { path }).matched;
    expect(inside('/srv/work/a.txt')).toBe(true);
    expect(inside('/srv/work')).toBe(true);
    expect(inside('/srv//work/./sub/../b.txt')).toBe(true);
    expect(inside('/srv/work/../etc/passwd')).toBe(false);
    expect(inside('/srv/work/%2e%2e/etc/passwd')).toBe(false);
    expect(inside('/srv/work/%252e%252e/etc/passwd')).toBe(false);
    expect(inside('/srv/work/..%2f..%2fetc')).toBe(false);
    expect(inside('\\srv\\work\\..\\..\\etc')).toBe(false);
    expect(inside('\\srv\\work\\ok.txt')).toBe(true);
    expect(inside('/srv/workshop/x')).toBe(false);
    expect(inside('/srv/work/a\u0000.txt')).toBe(false);
    expect(inside('/srv/work/100%.txt')).toBe(false); // malformed encoding fails closed
    expect(inside('a.txt')).toBe(false);
    expect(inside('../srv/work/a')).toBe(false);
    expect(inside('/../srv/work/a')).toBe(false);
    expect(normalizePath('C:\\Work\\..\\Work\\x')).toBe('C:/Work/x');
  });

  it('a path accepted by pathWithin never escapes the root (property)', () => {
    const segment = fc.constantFrom(
      '..',
      '.',
      '',
      'a',
      'b',
      '%2e%2e',
      '%2E.',
      '..%5c..',
      'c\\..',
      '%252e%252e',
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 8 }), fc.constantFrom('/', '\\'), (segments, sep) => {
        const raw = `/root${sep}${segments.join(sep)}`;
        const normal = normalizePath(raw);
        if (normal === null) return true;
        // Resolve the fully decoded path independently and check it stays below /root.
        let decoded = raw;
        for (let i = 0; i < 5 && decoded.includes('%'); i++) decoded = decodeURIComponent(decoded);
        const stack: string[] = [];
        for (const part of decoded.replaceAll('\\', '/').split('/')) {
          if (part === '' || part === '.') continue;
          if (part === '..') stack.pop();
          else stack.push(part);
        }
        const inside = stack[0] === 'root';
        return inside === (normal === '/root' || normal.startsWith('/root/'));
      }),
    );
  });

  it('matches uses the linear engine: full-value match, same answers as RegExp on safe patterns', () => {
    const rules = [
      { tool: 't', action: 'allow', conditions: { 'args.id': { matches: '^[A-Z]{2}-\\d{4}$' } } },
    ];
    expect(decide(rules, 't', { id: 'AB-1234' }).matched).toBe(true);
    expect(decide(rules, 't', { id: 'xAB-1234' }).matched).toBe(false);
    expect(decide(rules, 't', { id: 'AB-12345' }).matched).toBe(false);
    const patterns = [
      'a*b',
      '(ab|a)*c',
      '[a-c]+(x|yz)?',
      'a{2,3}b*',
      '(?:a|b)*abb',
      '.*x.*',
      '\\w+@\\w+\\.com',
    ];
    for (const source of patterns) {
      const ours = compilePattern(source);
      if (!ours.ok) throw new Error(ours.message);
      const theirs = new RegExp(`^(?:${source})$`);
      fc.assert(
        fc.property(
          fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'x', 'y', 'z', '@', '.', 'm', 'o') }),
          (input) => ours.match(input) === theirs.test(input),
        ),
      );
    }
  });

  it('matches stays linear on inputs that make backtracking engines explode', () => {
    const evil = compilePattern('(a+)+$');
    if (!evil.ok) throw new Error(evil.message);
    // V8 would take ages on this (2^30 paths); the NFA walks it once.
    expect(evil.match(`${'a'.repeat(30)}!`)).toBe(false);
    expect(evil.match('a'.repeat(100_000))).toBe(true);
  });

  it('refuses at save time the syntax the linear engine does not have', () => {
    for (const pattern of [
      '(a)\\1',
      '(?=a)',
      '(?!a)',
      '(?<n>a)',
      '\\bword',
      'a**',
      'a{2,1}',
      '(a',
      'a)',
      '[a',
      'a^b',
      'x{1000}',
    ]) {
      const found = issues([{ tool: 't', action: 'allow', conditions: { 'args.v': { matches: pattern } } }]);
      expect(found, pattern).toHaveLength(1);
      expect(found[0]!.path).toBe('rules[0].conditions.args.v.matches');
    }
  });

  it('validates operands with precise paths', () => {
    expect(
      issues([{ tool: 't', action: 'allow', conditions: { 'args.u': { hostIn: ['ok.com', 'bad host'] } } }]),
    ).toEqual([expect.objectContaining({ path: 'rules[0].conditions.args.u.hostIn[1]' })]);
    expect(
      issues([{ tool: 't', action: 'allow', conditions: { 'args.p': { pathWithin: ['relative/dir'] } } }]),
    ).toEqual([expect.objectContaining({ path: 'rules[0].conditions.args.p.pathWithin[0]' })]);
    expect(issues([{ tool: 't', action: 'allow', conditions: { 'args.n': { lt: 1, gt: 0 } } }])).toHaveLength(
      1,
    );
    expect(issues([{ tool: 't', action: 'allow', conditions: { 'args.a.b.c.d.e.f': 1 } }])).toHaveLength(1);
    expect(issues([{ tool: 't', action: 'allow', conditions: { team: { prefix: 'a' } } }])).toEqual([
      expect.objectContaining({ path: 'rules[0].conditions.team' }),
    ]);
    expect(
      issues([{ tool: 't', action: 'allow', conditions: { 'metadata.env': { prefix: 'prod' } } }]),
    ).toEqual([]);
  });

  it('keeps the existing operators (eq/in…) on args, with the scalar-only rule', () => {
    const rules = [{ tool: 't', action: 'allow', conditions: { 'args.mode': { in: ['read', 'list'] } } }];
    expect(decide(rules, 't', { mode: 'read' }).action).toBe('allow');
    expect(decide(rules, 't', { mode: ['read'] }).matched).toBe(false);
    expect(decide(rules, 't', null).matched).toBe(false);
  });

  it('args.* reads args, metadata.* reads metadata: the two never mix', () => {
    const compiled = policy([
      { tool: 't', action: 'allow', conditions: { 'args.env': 'prod', 'metadata.env': 'dev' } },
    ]);
    expect(evaluate(compiled, { tool: 't', args: { env: 'prod' }, metadata: { env: 'dev' } }).matched).toBe(
      true,
    );
    expect(evaluate(compiled, { tool: 't', args: { env: 'dev' }, metadata: { env: 'prod' } }).matched).toBe(
      false,
    );
  });

  it('the simulator says why an argument condition failed', () => {
    const compiled = policy([
      { tool: 'transfer', action: 'allow', conditions: { 'args.amount': { lte: 100 } } },
    ]);
    const request: EvaluationRequest = { tool: 'transfer', args: { amount: 500 } };
    const explained = explain(compiled, request);
    expect(JSON.stringify(explained)).toContain('args.amount lte 100 failed: value is 500');
  });

  it('a tools/list keeps a tool whose allow depends on arguments, and a conditional deny does not hide it', () => {
    const compiled = policy([
      { tool: 'write_file', action: 'deny', conditions: { 'args.path': { prefix: '/etc' } } },
      {
        tool: 'write_file',
        action: 'allow',
        conditions: { user: 'alice', 'args.path': { pathWithin: ['/w'] } },
      },
    ]);
    expect(couldAllowCaller(compiled, { tool: 'write_file', user: 'alice' })).toBe(true);
    expect(couldAllowCaller(compiled, { tool: 'write_file', user: 'bob' })).toBe(false);
  });
});
