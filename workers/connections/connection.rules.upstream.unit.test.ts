/**
 * The pure upstream URL rules: syntax (scheme, credentials, fragment, parse), public hosts accepted,
 * private and special addresses refused (every spelling), hostname classification, and the zod
 * schema wrapping them.
 */
import { describe, expect, it } from 'vitest';
import { DEV, expectAccepted, expectRefused, STRICT } from './connection.rules.fixtures.ts';
import { classifyHostname, upstreamUrlSchema } from './connection.rules.ts';

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
