/**
 * The pure connection rules for names: what a slug may be (length, characters, not an id
 * look-alike) and which header may carry an upstream credential.
 */
import { describe, expect, it } from 'vitest';
import {
  authHeaderNameSchema,
  REFUSED_AUTH_HEADER_NAMES,
  refusedHeaderReason,
  slugSchema,
} from './connection.rules.ts';

function issueMessages(result: {
  success: boolean;
  error?: { issues: Array<{ message: string }> };
}): string[] {
  return result.error?.issues.map((i) => i.message) ?? [];
}

describe('slugSchema', () => {
  it.each([
    'abc',
    'a'.repeat(64),
    'my-server',
    'my_server',
    'github-mcp_2',
    '1password',
    '123',
    'a--',
    'a__',
  ])('accepts %j', (slug) => {
    expect(slugSchema.safeParse(slug).success).toBe(true);
  });

  it('refuses 2 characters and accepts 3 (lower bound)', () => {
    const result = slugSchema.safeParse('ab');
    expect(result.success).toBe(false);
    expect(issueMessages(result)).toContain('slug must be at least 3 characters');
    expect(slugSchema.safeParse('abc').success).toBe(true);
  });

  it('accepts 64 characters and refuses 65 (upper bound)', () => {
    expect(slugSchema.safeParse('a'.repeat(64)).success).toBe(true);
    const result = slugSchema.safeParse('a'.repeat(65));
    expect(result.success).toBe(false);
    expect(issueMessages(result)).toContain('slug must be at most 64 characters');
  });

  it('refuses the empty string', () => {
    expect(slugSchema.safeParse('').success).toBe(false);
  });

  it.each(['-abc', '_abc', '-', '---', '_ab'])('refuses %j: must start with a letter or digit', (slug) => {
    const result = slugSchema.safeParse(slug);
    expect(result.success).toBe(false);
    if (slug.length >= 3) {
      expect(issueMessages(result)).toEqual(['slug must start with a lowercase letter or digit']);
    }
  });

  it.each(['MyServer', 'ABC', 'abC', 'my server', 'my.server', 'my/server', 'émoji', 'abc\n', 'a+b'])(
    'refuses %j: character set',
    (slug) => {
      const result = slugSchema.safeParse(slug);
      expect(result.success).toBe(false);
      expect(issueMessages(result)).toContain('slug may only contain lowercase letters, digits, "_" and "-"');
    },
  );

  it('refuses non-strings', () => {
    expect(slugSchema.safeParse(123).success).toBe(false);
    expect(slugSchema.safeParse(null).success).toBe(false);
  });
});

describe('authHeaderNameSchema', () => {
  it.each([
    'Authorization',
    'authorization',
    'X-API-Key',
    'x-api-key',
    'Api-Key',
    'X-Goog-Api-Key',
    'PRIVATE-TOKEN',
    'X-Auth_Token',
    "weird!#$%&'*+-.^_`|~token",
    'a',
    'x'.repeat(64),
    'x-igris', // only the 'x-igris-' prefix is reserved
    'cfg-token', // only the 'cf-' prefix is reserved
    'x-cf-token',
  ])('accepts %j', (name) => {
    expect(authHeaderNameSchema.safeParse(name).success).toBe(true);
  });

  it('refuses more than 64 characters', () => {
    const result = authHeaderNameSchema.safeParse('x'.repeat(65));
    expect(result.success).toBe(false);
    expect(issueMessages(result)).toContain('header name must be at most 64 characters');
  });

  it('refuses the empty string', () => {
    const result = authHeaderNameSchema.safeParse('');
    expect(result.success).toBe(false);
    expect(issueMessages(result)).toContain('header name must not be empty');
  });

  it.each([
    'X API Key',
    'X-Api-Key:',
    'Authorization\r\nX-Injected: 1',
    'key\n',
    ' key',
    'x-"quoted"',
    'a(b)',
    'a,b',
    'a/b',
    'a;b',
    'a=b',
    'a@b',
    'a[b]',
    'a{b}',
    'a?b',
    'a\\b',
    'a\tb',
    'clé',
  ])('refuses non-token %j', (name) => {
    const result = authHeaderNameSchema.safeParse(name);
    expect(result.success).toBe(false);
    expect(issueMessages(result).some((m) => m.startsWith('header name must be an HTTP token'))).toBe(true);
  });

  const refusedNames = [
    'host',
    'content-length',
    'transfer-encoding',
    'connection',
    'keep-alive',
    'proxy-connection',
    'proxy-authorization',
    'proxy-authenticate',
    'te',
    'trailer',
    'upgrade',
    'cookie',
    'set-cookie',
    'content-type',
    'origin',
    'mcp-session-id',
    'mcp-protocol-version',
    'last-event-id',
  ];

  it('covers exactly the documented refused names', () => {
    expect([...REFUSED_AUTH_HEADER_NAMES].sort()).toEqual([...refusedNames].sort());
  });

  const caseVariants = (name: string): string[] => [
    name,
    name.toUpperCase(),
    name.replace(/(^|-)([a-z])/g, (_m, dash: string, ch: string) => dash + ch.toUpperCase()),
  ];

  for (const name of refusedNames) {
    it(`refuses ${name} in any case, saying why`, () => {
      for (const variant of caseVariants(name)) {
        const result = authHeaderNameSchema.safeParse(variant);
        expect(result.success).toBe(false);
        const messages = issueMessages(result);
        expect(messages).toHaveLength(1);
        expect(messages[0]).toContain(`header "${variant}" cannot be used: `);
        expect(messages[0]).toContain(refusedHeaderReason(name) ?? 'missing reason');
      }
    });
  }

  it.each(['x-igris-', 'x-igris-org', 'X-Igris-Connection', 'X-IGRIS-TOKEN'])(
    'refuses the reserved x-igris- prefix: %j',
    (name) => {
      const result = authHeaderNameSchema.safeParse(name);
      expect(result.success).toBe(false);
      expect(issueMessages(result)[0]).toContain('the x-igris- prefix is reserved for the gateway');
    },
  );

  it.each(['cf-', 'cf-connecting-ip', 'CF-Access-Client-Secret', 'Cf-Ray'])(
    'refuses the reserved cf- prefix: %j',
    (name) => {
      const result = authHeaderNameSchema.safeParse(name);
      expect(result.success).toBe(false);
      expect(issueMessages(result)[0]).toContain('the cf- prefix is reserved for Cloudflare');
    },
  );

  it('names distinct rules for different categories', () => {
    expect(refusedHeaderReason('connection')).toMatch(/hop-by-hop/);
    expect(refusedHeaderReason('content-length')).toMatch(/framing/);
    expect(refusedHeaderReason('host')).toMatch(/routing/);
    expect(refusedHeaderReason('proxy-authorization')).toMatch(/proxy authentication/);
    expect(refusedHeaderReason('cookie')).toMatch(/cookies/i);
    expect(refusedHeaderReason('mcp-session-id')).toMatch(/MCP/);
    expect(refusedHeaderReason('authorization')).toBeNull();
  });
});

describe('slugSchema: a slug may not look like a connection or session id', () => {
  it.each(['con_0123456789abcdefghij', 'con_abc', 'ses_0123456789abcdefghij', 'ses_x'])(
    'refuses %j',
    (slug) => {
      const result = slugSchema.safeParse(slug);
      expect(result.success).toBe(false);
      expect(issueMessages(result).join(' ')).toMatch(/reserved for connection and session ids/);
    },
  );

  it.each(['con-prod', 'connector', 'session_store', 'icon_set', 'cons_x'])('accepts %j', (slug) => {
    expect(slugSchema.safeParse(slug).success).toBe(true);
  });
});
