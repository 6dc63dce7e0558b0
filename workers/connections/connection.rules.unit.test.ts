import { describe, expect, it } from 'vitest';
import {
  authHeaderNameSchema,
  checkUpstreamUrl,
  classifyHostname,
  REFUSED_AUTH_HEADER_NAMES,
  refusedHeaderReason,
  slugSchema,
  type UpstreamUrlOptions,
  upstreamUrlSchema,
} from './connection.rules.ts';
import {
  authQueryParamSchema,
  isCredentialParamName,
  redactUpstreamUrl,
  sameOrigin,
} from './connection.secrets.ts';

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

const STRICT: UpstreamUrlOptions = { allowPrivate: false, allowHttp: false };
const DEV: UpstreamUrlOptions = { allowPrivate: true, allowHttp: true };

function expectRefused(url: string, rule: string, opts: UpstreamUrlOptions = STRICT): string {
  const result = checkUpstreamUrl(url, opts);
  if (result.ok) throw new Error(`expected ${url} to be refused (${rule}), got ok`);
  expect(result.rule).toBe(rule);
  expect(result.message).toContain(rule === 'parse' ? 'not a valid' : '');
  return result.message;
}

function expectAccepted(url: string, opts: UpstreamUrlOptions = STRICT): URL {
  const result = checkUpstreamUrl(url, opts);
  if (!result.ok) throw new Error(`expected ${url} to be accepted, got ${result.rule}: ${result.message}`);
  return result.url;
}

describe('checkUpstreamUrl: syntax rules', () => {
  it.each([
    '',
    'not a url',
    'example.com/mcp',
    '/mcp',
    'https://',
    'https://exa mple.com/',
    'http://1.2.3.4.5/',
  ])('refuses unparseable %j', (url) => {
    expectRefused(url, 'parse');
  });

  it('returns the parsed URL', () => {
    const url = expectAccepted('https://mcp.example.com:8443/v1/mcp?team=a');
    expect(url).toBeInstanceOf(URL);
    expect(url.hostname).toBe('mcp.example.com');
    expect(url.port).toBe('8443');
    expect(url.pathname).toBe('/v1/mcp');
  });

  it('refuses http unless allowHttp', () => {
    const message = expectRefused('http://mcp.example.com/', 'scheme');
    expect(message).toMatch(/https/);
    expectAccepted('http://mcp.example.com/', { allowPrivate: false, allowHttp: true });
  });

  it.each([
    'ftp://example.com/',
    'ws://example.com/',
    'wss://example.com/',
    'file:///etc/passwd',
    'data:text/plain,hi',
  ])('refuses scheme %j even in development', (url) => {
    expectRefused(url, 'scheme', DEV);
  });

  it.each([
    'https://alice:s3cr3t@example.com/',
    'https://alice@example.com/',
    'https://:s3cr3t@example.com/',
  ])('refuses credentials in %j without echoing them', (url) => {
    const message = expectRefused(url, 'credentials');
    expect(message).not.toContain('s3cr3t');
    expect(message).not.toContain('alice');
    expectRefused(url, 'credentials', DEV);
  });

  it.each(['https://example.com/#frag', 'https://example.com/mcp#', 'https://example.com/?q=1#x'])(
    'refuses a fragment in %j',
    (url) => {
      expectRefused(url, 'fragment');
      expectRefused(url, 'fragment', DEV);
    },
  );

  it('accepts an encoded # in the path or query', () => {
    expectAccepted('https://example.com/a%23b?x=%23');
  });
});

describe('checkUpstreamUrl: public hosts are accepted', () => {
  it.each([
    'https://mcp.example.com/mcp',
    'https://api.githubcopilot.com/mcp/',
    'https://EXAMPLE.com/',
    'https://example.com./',
    'https://1.1.1.1/',
    'https://8.8.8.8/mcp',
    'https://93.184.216.34/',
    'https://9.255.255.255/',
    'https://11.0.0.0/',
    'https://100.63.255.255/',
    'https://100.128.0.0/',
    'https://126.255.255.255/',
    'https://128.0.0.0/',
    'https://169.253.255.255/',
    'https://169.255.0.0/',
    'https://172.15.255.255/',
    'https://172.32.0.0/',
    'https://192.167.255.255/',
    'https://192.169.0.0/',
    'https://223.255.255.255/',
    'https://[2606:4700:4700::1111]/',
    'https://[2001:4860:4860::8888]/',
    'https://[2a00:1450::1]/',
    'https://[fbff::1]/',
    'https://[fe7f::1]/',
    'https://[::ffff:8.8.8.8]/',
    'https://[64:ff9b::808:808]/',
    'https://[2002:808:808::1]/',
    // Just outside the refused special ranges
    'https://191.255.255.255/',
    'https://192.0.1.1/',
    'https://192.0.3.1/',
    'https://198.17.255.255/',
    'https://198.20.0.0/',
    'https://198.51.99.1/',
    'https://198.51.101.1/',
    'https://203.0.112.1/',
    'https://203.0.114.1/',
    'https://[2001:1::1]/',
    'https://[2001:db9::1]/',
    'https://[2001:2:1::1]/',
    'https://[3ffe::1]/',
    'https://[3fff:1000::1]/',
    'https://[64:ff9b:2::1]/',
    'https://[::ffff:1:0:0]/',
    'https://localhost.example.com/',
    'https://internal.example.com/',
    'https://my-localhost/',
    'https://metadata.google.com/',
    'https://xn--nxasmq6b.com/',
  ])('%s', (url) => {
    expectAccepted(url);
  });
});

describe('checkUpstreamUrl: private and special addresses are refused', () => {
  const cases: Array<[string, string]> = [
    // IPv4 loopback 127.0.0.0/8
    ['https://127.0.0.1/', 'loopback'],
    ['https://127.255.255.255/', 'loopback'],
    ['https://127.1.2.3:8080/mcp', 'loopback'],
    // IPv4 private
    ['https://10.0.0.1/', 'private'],
    ['https://10.255.255.255/', 'private'],
    ['https://172.16.0.1/', 'private'],
    ['https://172.31.255.255/', 'private'],
    ['https://192.168.0.1/', 'private'],
    ['https://192.168.255.255/', 'private'],
    // link-local and metadata
    ['https://169.254.0.1/', 'link-local'],
    ['https://169.254.255.255/', 'link-local'],
    ['https://169.254.169.254/', 'cloud-metadata'],
    ['http://169.254.169.254/latest/meta-data/', 'cloud-metadata'],
    // unspecified 0.0.0.0/8
    ['https://0.0.0.0/', 'unspecified'],
    ['https://0.1.2.3/', 'unspecified'],
    // CGNAT 100.64.0.0/10
    ['https://100.64.0.0/', 'shared'],
    ['https://100.127.255.255/', 'shared'],
    ['https://100.100.100.200/', 'shared'],
    // multicast / reserved / broadcast
    ['https://224.0.0.1/', 'multicast'],
    ['https://239.255.255.250/', 'multicast'],
    ['https://240.0.0.1/', 'reserved'],
    ['https://255.255.255.255/', 'reserved'],
    // IPv6
    ['https://[::1]/', 'loopback'],
    ['https://[0:0:0:0:0:0:0:1]/', 'loopback'],
    ['https://[::]/', 'unspecified'],
    ['https://[fe80::1]/', 'link-local'],
    ['https://[fe80::abcd:1234]/', 'link-local'],
    ['https://[febf:ffff::1]/', 'link-local'],
    ['https://[fec0::1]/', 'site-local'],
    ['https://[fc00::1]/', 'unique-local'],
    ['https://[fd00::1]/', 'unique-local'],
    ['https://[fd12:3456:789a::1]/', 'unique-local'],
    ['https://[fdff:ffff::1]/', 'unique-local'],
    ['https://[fd00:ec2::254]/', 'cloud-metadata'],
    ['https://[ff02::1]/', 'multicast'],
    // IPv4-mapped IPv6 applies the IPv4 rules
    ['https://[::ffff:127.0.0.1]/', 'loopback'],
    ['https://[::ffff:7f00:1]/', 'loopback'],
    ['https://[::ffff:10.1.2.3]/', 'private'],
    ['https://[::ffff:192.168.1.1]/', 'private'],
    ['https://[::ffff:169.254.169.254]/', 'cloud-metadata'],
    ['https://[::ffff:0.0.0.0]/', 'unspecified'],
    ['https://[::ffff:100.64.0.1]/', 'shared'],
    // Other IPv6 forms that embed an IPv4 address
    ['https://[::127.0.0.1]/', 'loopback'],
    ['https://[64:ff9b::10.0.0.1]/', 'private'],
    ['https://[2002:a9fe:a9fe::]/', 'cloud-metadata'],
    // IETF protocol assignments, benchmarking and documentation ranges (IPv4)
    ['https://192.0.0.1/', 'reserved'],
    ['https://192.0.0.170/', 'reserved'],
    ['https://192.0.0.255/', 'reserved'],
    ['https://198.18.0.1/', 'benchmarking'],
    ['https://198.19.255.255/', 'benchmarking'],
    ['https://192.0.2.1/', 'documentation'],
    ['https://198.51.100.7/', 'documentation'],
    ['https://203.0.113.255/', 'documentation'],
    ['https://[::ffff:198.18.0.1]/', 'benchmarking'],
    // SIIT IPv4-translated ::ffff:0:0:0/96, whatever IPv4 address it carries
    ['https://[::ffff:0:8.8.8.8]/', 'translation'],
    ['https://[::ffff:0:0:0]/', 'translation'],
    ['https://[0:0:0:0:ffff:0:7f00:1]/', 'translation'],
    // Local-use NAT64 64:ff9b:1::/48
    ['https://[64:ff9b:1::808:808]/', 'translation'],
    ['https://[64:ff9b:1:ffff::1]/', 'translation'],
    // Teredo 2001::/32
    ['https://[2001::1]/', 'tunnel'],
    ['https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', 'tunnel'],
    // Documentation 2001:db8::/32 and 3fff::/20, benchmarking 2001:2::/48
    ['https://[2001:db8::1]/', 'documentation'],
    ['https://[2001:db8:ffff::1]/', 'documentation'],
    ['https://[3fff::1]/', 'documentation'],
    ['https://[3fff:fff:ffff::1]/', 'documentation'],
    ['https://[2001:2::1]/', 'benchmarking'],
    // Alternative IPv4 notations (normalized by the WHATWG URL parser)
    ['http://2130706433/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
    ['http://0x7f000001/', 'loopback'],
    ['http://0177.0.0.1/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://127.0.0.1./', 'loopback'],
    ['http://%31%32%37.0.0.1/', 'loopback'],
    ['http://0/', 'unspecified'],
    ['http://0xa9fea9fe/', 'cloud-metadata'],
    ['http://2852039166/', 'cloud-metadata'],
    ['http://0xc0.0xa8.1.1/', 'private'],
    ['http://012.1/', 'private'],
    // Names
    ['https://localhost/', 'localhost-name'],
    ['https://LOCALHOST/', 'localhost-name'],
    ['https://localhost./', 'localhost-name'],
    ['https://localhost:8787/mcp', 'localhost-name'],
    ['https://api.localhost/', 'localhost-name'],
    ['https://a.b.localhost/', 'localhost-name'],
    ['https://ｌｏｃａｌｈｏｓｔ/', 'localhost-name'],
    ['https://metadata.google.internal/', 'cloud-metadata'],
    ['https://METADATA.GOOGLE.INTERNAL./computeMetadata/v1/', 'cloud-metadata'],
    ['https://metadata/', 'cloud-metadata'],
    ['https://service.internal/', 'internal-name'],
    ['https://db.corp.internal/', 'internal-name'],
    ['https://printer.local/', 'internal-name'],
    ['https://router.home.arpa/', 'internal-name'],
  ];

  for (const [url, rule] of cases) {
    it(`${url} → ${rule}`, () => {
      const message = expectRefused(url.replace(/^http:/, 'https:'), rule);
      expect(message).toContain(`(rule: ${rule})`);
    });
  }

  it('allows all of them when allowPrivate (development)', () => {
    for (const [url] of cases) expectAccepted(url, DEV);
  });

  it('still requires https for private hosts unless allowHttp', () => {
    expectRefused('http://127.0.0.1:8787/mcp', 'scheme', { allowPrivate: true, allowHttp: false });
    expectAccepted('https://127.0.0.1:8787/mcp', { allowPrivate: true, allowHttp: false });
  });

  it('checks the scheme before the host', () => {
    expectRefused('http://127.0.0.1/', 'scheme');
  });

  it('names the normalized host, never the raw input', () => {
    const message = expectRefused('https://0x7f.1/', 'loopback');
    expect(message).toContain('127.0.0.1');
    expect(message).not.toContain('0x7f');
  });
});

describe('classifyHostname', () => {
  it('classifies WHATWG-serialized hosts', () => {
    expect(classifyHostname('127.0.0.1')).toBe('loopback');
    expect(classifyHostname('[::1]')).toBe('loopback');
    expect(classifyHostname('[::ffff:a00:1]')).toBe('private');
    expect(classifyHostname('example.com')).toBeNull();
    expect(classifyHostname('[2606:4700::1]')).toBeNull();
  });

  it('fails closed on a bracketed host it cannot parse', () => {
    expect(classifyHostname('[not-ipv6]')).toBe('reserved');
    expect(classifyHostname('[1:2:3:4:5:6:7:8:9]')).toBe('reserved');
    expect(classifyHostname('[1::2::3]')).toBe('reserved');
  });

  it('parses IPv6 with an embedded dotted IPv4 tail', () => {
    expect(classifyHostname('[::ffff:127.0.0.1]')).toBe('loopback');
    expect(classifyHostname('[0:0:0:0:0:ffff:10.0.0.1]')).toBe('private');
    expect(classifyHostname('[::ffff:8.8.8.8]')).toBeNull();
    expect(classifyHostname('[::ffff:999.0.0.1]')).toBe('reserved');
  });
});

describe('upstreamUrlSchema', () => {
  it('accepts a valid URL and reports the rule for an invalid one', () => {
    const schema = upstreamUrlSchema(STRICT);
    expect(schema.safeParse('https://mcp.example.com/').success).toBe(true);
    const result = schema.safeParse('https://10.0.0.1/');
    expect(result.success).toBe(false);
    const issue = result.error?.issues[0];
    expect(issue?.message).toContain('(rule: private)');
    expect(issue && 'params' in issue ? issue.params : undefined).toEqual({ rule: 'private' });
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

describe('checkUpstreamUrl: secrets in the query string', () => {
  it.each([
    ['https://mcp.example.com/?api_key=abc123', 'api_key'],
    ['https://mcp.example.com/?apikey=abc123', 'apikey'],
    ['https://mcp.example.com/?apiKey=abc123', 'apiKey'],
    ['https://mcp.example.com/?API-KEY=abc123', 'API-KEY'],
    ['https://mcp.example.com/?key=abc123', 'key'],
    ['https://mcp.example.com/?token=abc123', 'token'],
    ['https://mcp.example.com/?access_token=abc123', 'access_token'],
    ['https://mcp.example.com/?x_auth_token=abc123', 'x_auth_token'],
    ['https://mcp.example.com/?secret=abc123', 'secret'],
    ['https://mcp.example.com/?client_secret=abc123', 'client_secret'],
    ['https://mcp.example.com/?password=abc123', 'password'],
    ['https://mcp.example.com/?sig=abc123', 'sig'],
    ['https://mcp.example.com/?signature=abc123', 'signature'],
    ['https://mcp.example.com/?auth=abc123', 'auth'],
    ['https://mcp.example.com/?X-Amz-Security-Token=abc123', 'X-Amz-Security-Token'],
    ['https://mcp.example.com/mcp?region=eu&token=abc123', 'token'],
  ])('refuses %s naming %s and pointing to authType "query"', (url, name) => {
    const message = expectRefused(url, 'query-credential');
    expect(message).toContain(`"${name}"`);
    expect(message).toContain('authType "query"');
    expect(message).not.toContain('abc123');
    // Not an address rule: development refuses it too.
    expectRefused(url, 'query-credential', DEV);
  });

  it.each([
    'https://mcp.example.com/?region=eu',
    'https://mcp.example.com/?monkey=1&keyboard=2&tokens_limit=5',
    'https://mcp.example.com/?token=',
    'https://mcp.example.com/?format=json&v=2',
  ])('accepts %s', (url) => {
    expectAccepted(url);
  });

  it('points userinfo to the credential field as well', () => {
    const message = expectRefused('https://u:p4ss@mcp.example.com/', 'credentials');
    expect(message).toContain('"query"');
    expect(message).not.toContain('p4ss');
  });
});

describe('isCredentialParamName', () => {
  it('normalizes case and separators', () => {
    for (const name of ['api_key', 'Api-Key', 'APIKEY', 'access.token', 'github_token', 'db_password']) {
      expect(isCredentialParamName(name), name).toBe(true);
    }
    for (const name of ['q', 'page', 'monkey', 'keys_limit', 'region', '']) {
      expect(isCredentialParamName(name), name).toBe(false);
    }
  });
});

describe('redactUpstreamUrl', () => {
  it('drops userinfo and masks credential-looking parameter values, keeping the rest', () => {
    const out = redactUpstreamUrl('https://u:pw@mcp.example.com/x?api_key=s3cr3t&region=eu&token=t0k');
    expect(out).not.toContain('s3cr3t');
    expect(out).not.toContain('t0k');
    expect(out).not.toContain('pw@');
    expect(out).toBe('https://mcp.example.com/x?api_key=REDACTED&region=eu&token=REDACTED');
  });

  it('does not echo an unparseable URL', () => {
    expect(redactUpstreamUrl('not a url s3cr3t')).toBe('[unparseable URL]');
  });
});

describe('sameOrigin', () => {
  it('compares scheme, host and port as the URL parser normalizes them', () => {
    expect(sameOrigin('https://a.example.com/x', 'https://A.EXAMPLE.com:443/y?z=1')).toBe(true);
    expect(sameOrigin('https://a.example.com/', 'http://a.example.com/')).toBe(false);
    expect(sameOrigin('https://a.example.com/', 'https://b.example.com/')).toBe(false);
    expect(sameOrigin('https://a.example.com/', 'https://a.example.com:8443/')).toBe(false);
    expect(sameOrigin('http://127.0.0.1:1/', 'http://localhost:1/')).toBe(false);
    expect(sameOrigin('not a url', 'not a url')).toBe(false);
  });
});

describe('authQueryParamSchema', () => {
  it.each(['api_key', 'key', 'X-Token', 'a.b~c'])('accepts %j', (name) => {
    expect(authQueryParamSchema.safeParse(name).success).toBe(true);
  });

  it.each(['', 'a b', 'a&b', 'a=b', 'ä', 'x'.repeat(65)])('refuses %j', (name) => {
    expect(authQueryParamSchema.safeParse(name).success).toBe(false);
  });
});
