/**
 * Pure validation rules for connections: slug, the header that carries the upstream credential,
 * and the upstream URL. Every refusal names the rule that fired so the API and dashboard can tell
 * the user exactly what to change.
 *
 * About the upstream address rules: they refuse *explicit* private, loopback, link-local and
 * metadata addresses (in any notation the WHATWG URL parser accepts — '2130706433', '0x7f.1',
 * '127.1' and '[::ffff:127.0.0.1]' are all normalized before we look at them). They cannot stop DNS
 * rebinding, i.e. a public name that later resolves to a private IP: Workers have no DNS API at
 * validation time and the answer can change after validation anyway. That gap is closed by the
 * platform rather than here: a Worker's fetch() leaves through Cloudflare's edge, which cannot
 * reach the deployer's private networks, loopback or cloud metadata services. These checks exist
 * so that a connection never *states* an internal target (which matters in local development,
 * self-hosted runtimes and any future egress path) and so users get a clear error early.
 */
import { z } from 'zod';
import { credentialQueryParam } from './connection.secrets';

// ---------------------------------------------------------------------------------------------
// Slug

const RESERVED_SLUG_PREFIXES = ['con_', 'ses_'] as const;

export const slugSchema = z
  .string()
  .min(3, 'slug must be at least 3 characters')
  .max(64, 'slug must be at most 64 characters')
  .regex(/^[a-z0-9_-]*$/, 'slug may only contain lowercase letters, digits, "_" and "-"')
  .regex(/^[a-z0-9]/, 'slug must start with a lowercase letter or digit')
  // Connection ids are `con_…` (workers/lib/ids.ts) and session ids `ses_…`; kill-switch targets
  // accept a connection id or a slug, so a slug spelled like an id could be mistaken for another
  // connection (or make an audit row ambiguous). The prefixes are reserved outright.
  .refine(
    (slug) => !RESERVED_SLUG_PREFIXES.some((p) => slug.startsWith(p)),
    'slug may not start with "con_" or "ses_": those prefixes are reserved for connection and session ids',
  );

// ---------------------------------------------------------------------------------------------
// Auth header name

const MAX_HEADER_NAME_LENGTH = 64;
// RFC 9110 §5.6.2: token = 1*tchar.
const HTTP_TOKEN_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const HOP_BY_HOP = 'it is a hop-by-hop header that proxies strip or rewrite';
const FRAMING = 'it controls message framing or body interpretation';
const ROUTING = 'it controls routing or request origin';
const PROXY_AUTH = 'it is reserved for proxy authentication';
const COOKIES = 'cookies are managed per session, not as a credential header';
const MCP_PROTOCOL = 'it is part of the MCP transport protocol, which the gateway manages';

/** Exact names (lowercase) that may not carry a credential, with the reason why. */
const REFUSED_HEADER_NAMES: ReadonlyMap<string, string> = new Map([
  ['connection', HOP_BY_HOP],
  ['keep-alive', HOP_BY_HOP],
  ['proxy-connection', HOP_BY_HOP],
  ['te', HOP_BY_HOP],
  ['trailer', HOP_BY_HOP],
  ['transfer-encoding', HOP_BY_HOP],
  ['upgrade', HOP_BY_HOP],
  ['content-length', FRAMING],
  ['content-type', FRAMING],
  ['host', ROUTING],
  ['origin', ROUTING],
  ['proxy-authorization', PROXY_AUTH],
  ['proxy-authenticate', PROXY_AUTH],
  ['cookie', COOKIES],
  ['set-cookie', COOKIES],
  ['mcp-session-id', MCP_PROTOCOL],
  ['mcp-protocol-version', MCP_PROTOCOL],
  ['last-event-id', MCP_PROTOCOL],
]);

/** Reserved name prefixes (lowercase): the gateway's own headers and Cloudflare's. */
const REFUSED_HEADER_PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['x-igris-', 'the x-igris- prefix is reserved for the gateway'],
  ['cf-', 'the cf- prefix is reserved for Cloudflare'],
];

export const REFUSED_AUTH_HEADER_NAMES: readonly string[] = [...REFUSED_HEADER_NAMES.keys()];

/** Why a (syntactically valid) header name may not carry the credential, or null when it may. */
export function refusedHeaderReason(name: string): string | null {
  const lower = name.toLowerCase();
  const exact = REFUSED_HEADER_NAMES.get(lower);
  if (exact) return exact;
  const prefix = REFUSED_HEADER_PREFIXES.find(([p]) => lower.startsWith(p));
  return prefix ? prefix[1] : null;
}

export const authHeaderNameSchema = z
  .string()
  .min(1, 'header name must not be empty')
  .max(MAX_HEADER_NAME_LENGTH, `header name must be at most ${MAX_HEADER_NAME_LENGTH} characters`)
  .regex(HTTP_TOKEN_PATTERN, "header name must be an HTTP token (letters, digits and !#$%&'*+-.^_`|~)")
  .superRefine((name, ctx) => {
    const reason = refusedHeaderReason(name);
    if (reason) ctx.addIssue({ code: 'custom', message: `header "${name}" cannot be used: ${reason}` });
  });

// ---------------------------------------------------------------------------------------------
// Upstream URL

/** Why an address is not a public upstream. */
export type AddressRule =
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unspecified'
  | 'unique-local'
  | 'site-local'
  | 'shared'
  | 'multicast'
  | 'reserved'
  | 'documentation'
  | 'benchmarking'
  | 'translation'
  | 'tunnel'
  | 'cloud-metadata'
  | 'localhost-name'
  | 'internal-name';

export type UpstreamUrlRule =
  | 'parse'
  | 'scheme'
  | 'credentials'
  | 'query-credential'
  | 'fragment'
  | AddressRule;

export interface UpstreamUrlOptions {
  /** Accept private/loopback/link-local/metadata hosts (local development only). */
  allowPrivate: boolean;
  /** Accept plain http: (local development only). */
  allowHttp: boolean;
}

export type UpstreamUrlCheck = { ok: true; url: URL } | { ok: false; rule: UpstreamUrlRule; message: string };

const ADDRESS_RULE_DESCRIPTIONS: Record<AddressRule, string> = {
  loopback: 'a loopback address',
  private: 'a private network address',
  'link-local': 'a link-local address',
  unspecified: 'an unspecified address',
  'unique-local': 'an IPv6 unique-local (private) address',
  'site-local': 'a deprecated IPv6 site-local (private) address',
  shared: 'a carrier-grade NAT (shared, RFC 6598) address',
  multicast: 'a multicast address',
  reserved: 'a reserved or broadcast address',
  documentation: 'a documentation-only address (RFC 5737 / RFC 3849 / RFC 9637)',
  benchmarking: 'a benchmarking address (RFC 2544)',
  translation: 'an address reserved for IPv4/IPv6 translators (SIIT, local-use NAT64)',
  tunnel: 'a Teredo tunnel address',
  'cloud-metadata': 'a cloud metadata endpoint',
  'localhost-name': 'a localhost name',
  'internal-name': 'an internal-only name',
};

type Ipv4 = readonly [number, number, number, number];

/** IPv4 CIDR table, most specific first so 169.254.169.254 reports 'cloud-metadata'. */
const IPV4_RULES: ReadonlyArray<readonly [Ipv4, number, AddressRule]> = [
  [[169, 254, 169, 254], 32, 'cloud-metadata'],
  [[0, 0, 0, 0], 8, 'unspecified'],
  [[10, 0, 0, 0], 8, 'private'],
  [[100, 64, 0, 0], 10, 'shared'],
  [[127, 0, 0, 0], 8, 'loopback'],
  [[169, 254, 0, 0], 16, 'link-local'],
  [[172, 16, 0, 0], 12, 'private'],
  // IETF protocol assignments (RFC 6890): DS-Lite, NAT64 discovery and other special hosts.
  [[192, 0, 0, 0], 24, 'reserved'],
  [[192, 0, 2, 0], 24, 'documentation'],
  [[192, 168, 0, 0], 16, 'private'],
  [[198, 18, 0, 0], 15, 'benchmarking'],
  [[198, 51, 100, 0], 24, 'documentation'],
  [[203, 0, 113, 0], 24, 'documentation'],
  [[224, 0, 0, 0], 4, 'multicast'],
  [[240, 0, 0, 0], 4, 'reserved'],
];

function ipv4ToInt(ip: Ipv4): number {
  return ((ip[0] << 24) | (ip[1] << 16) | (ip[2] << 8) | ip[3]) >>> 0;
}

function inIpv4Cidr(ip: Ipv4, base: Ipv4, bits: number): boolean {
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (ipv4ToInt(ip) & mask) >>> 0 === (ipv4ToInt(base) & mask) >>> 0;
}

/** Dotted-quad only: the URL parser has already normalized every other IPv4 notation to this. */
function parseIpv4(host: string): Ipv4 | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!match) return undefined;
  const [a, b, c, d] = match.slice(1).map(Number) as [number, number, number, number];
  if ([a, b, c, d].some((o) => o > 255)) return undefined;
  return [a, b, c, d];
}

function classifyIpv4(ip: Ipv4): AddressRule | null {
  const hit = IPV4_RULES.find(([base, bits]) => inIpv4Cidr(ip, base, bits));
  return hit ? hit[2] : null;
}

type Ipv6 = readonly number[]; // eight 16-bit groups

/** Parses an IPv6 literal (without brackets) into eight 16-bit groups. */
function parseIpv6(text: string): Ipv6 | undefined {
  let head = text;
  const tail: number[] = [];
  // An embedded dotted IPv4 tail (the URL parser normalizes it away, but stay robust).
  const dotted = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(head);
  if (dotted) {
    const v4 = parseIpv4(dotted[2] ?? '');
    if (!v4) return undefined;
    head = dotted[1]?.endsWith('::') ? (dotted[1] ?? '') : (dotted[1] ?? '').slice(0, -1);
    tail.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (part: string | undefined): number[] | undefined => {
    if (!part) return [];
    const groups = part.split(':');
    if (groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
    return groups.map((g) => Number.parseInt(g, 16));
  };
  const left = parseGroups(halves[0]);
  const right = parseGroups(halves[1]);
  if (!left || !right) return undefined;
  const explicit = left.length + right.length + tail.length;
  if (halves.length === 1) return explicit === 8 ? [...left, ...tail] : undefined;
  if (explicit > 7) return undefined;
  return [...left, ...new Array<number>(8 - explicit).fill(0), ...right, ...tail];
}

function ipv4From(hi: number, lo: number): Ipv4 {
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];
}

/**
 * IPv4 addresses carried inside IPv6 ones, which reach the IPv4 host on dual-stack or translating
 * networks: IPv4-mapped ::ffff:0:0/96, deprecated IPv4-compatible ::/96, NAT64 64:ff9b::/96 and
 * 6to4 2002::/16.
 */
function embeddedIpv4(g: Ipv6): Ipv4 | undefined {
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && g[5] === 0xffff) return ipv4From(g[6] ?? 0, g[7] ?? 0);
  if (zeros(0, 6)) return ipv4From(g[6] ?? 0, g[7] ?? 0);
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return ipv4From(g[6] ?? 0, g[7] ?? 0);
  if (g[0] === 0x2002) return ipv4From(g[1] ?? 0, g[2] ?? 0);
  return undefined;
}

const AWS_IPV6_METADATA: Ipv6 = [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254];

/**
 * IPv6 ranges refused as a whole, whatever follows the prefix: their hosts are either never
 * public (documentation, benchmarking) or reached through a translator or tunnel whose far side
 * the prefix does not tell (so the embedded IPv4 rules cannot vouch for them).
 */
function classifyIpv6Range(g: Ipv6): AddressRule | null {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0] = g;
  // SIIT IPv4-translated addresses ::ffff:0:0:0/96 (RFC 7915).
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0xffff && g5 === 0) return 'translation';
  // Local-use NAT64 64:ff9b:1::/48 (RFC 8215): translated by the operator's own NAT64.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return 'translation';
  // Teredo 2001::/32 (RFC 4380): a tunnel to an IPv4 host the address obfuscates.
  if (g0 === 0x2001 && g1 === 0) return 'tunnel';
  // Documentation 2001:db8::/32 (RFC 3849) and 3fff::/20 (RFC 9637).
  if (g0 === 0x2001 && g1 === 0x0db8) return 'documentation';
  if (g0 === 0x3fff && (g1 & 0xf000) === 0) return 'documentation';
  // Benchmarking 2001:2::/48 (RFC 5180).
  if (g0 === 0x2001 && g1 === 2 && g2 === 0) return 'benchmarking';
  return null;
}

function classifyIpv6(g: Ipv6): AddressRule | null {
  const first = g[0] ?? 0;
  if (g.every((x) => x === 0)) return 'unspecified';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
  if (g.every((x, i) => x === AWS_IPV6_METADATA[i])) return 'cloud-metadata';
  const range = classifyIpv6Range(g);
  if (range) return range;
  const v4 = embeddedIpv4(g);
  if (v4) return classifyIpv4(v4);
  if ((first & 0xffc0) === 0xfe80) return 'link-local';
  if ((first & 0xffc0) === 0xfec0) return 'site-local';
  if ((first & 0xfe00) === 0xfc00) return 'unique-local';
  if ((first & 0xff00) === 0xff00) return 'multicast';
  return null;
}

/** Names that only ever resolve inside a host or private network. */
function classifyName(name: string): AddressRule | null {
  if (name === 'localhost' || name.endsWith('.localhost')) return 'localhost-name';
  if (name === 'metadata.google.internal' || name === 'metadata') return 'cloud-metadata';
  const internalSuffixes = ['internal', 'local', 'home.arpa'];
  if (internalSuffixes.some((s) => name === s || name.endsWith(`.${s}`))) return 'internal-name';
  return null;
}

/**
 * Classifies a URL hostname as the WHATWG parser serializes it (IPv6 in brackets, IPv4 dotted,
 * names lowercase). Returns null for hosts that may be public.
 */
export function classifyHostname(hostname: string): AddressRule | null {
  if (hostname.startsWith('[') && hostname.endsWith(']')) {
    const groups = parseIpv6(hostname.slice(1, -1));
    // The URL parser only emits valid IPv6; failing closed is the safe answer if that ever changes.
    return groups ? classifyIpv6(groups) : 'reserved';
  }
  // 'localhost.' is the same name as 'localhost' (the root label is implicit).
  const name = hostname.toLowerCase().replace(/\.+$/, '');
  const v4 = parseIpv4(name);
  if (v4) return classifyIpv4(v4);
  return classifyName(name);
}

function refuse(rule: UpstreamUrlRule, message: string): UpstreamUrlCheck {
  return { ok: false, rule, message };
}

function checkScheme(url: URL, allowHttp: boolean): UpstreamUrlCheck | null {
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:') {
    return allowHttp
      ? null
      : refuse('scheme', 'upstream URL must use https (plain http is only allowed in development)');
  }
  return refuse('scheme', `upstream URL must use https, not ${url.protocol.replace(/:$/, '')}`);
}

/**
 * Validates an upstream MCP server URL. Messages never echo the input URL, since a refused URL may
 * contain credentials.
 */
export function checkUpstreamUrl(url: string, opts: UpstreamUrlOptions): UpstreamUrlCheck {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse('parse', 'upstream URL is not a valid absolute URL');
  }
  const schemeProblem = checkScheme(parsed, opts.allowHttp);
  if (schemeProblem) return schemeProblem;
  if (parsed.username !== '' || parsed.password !== '') {
    return refuse(
      'credentials',
      'upstream URL must not contain a username or password: store the secret as the connection\'s credential (authType "bearer", "header", or "query" for a query parameter)',
    );
  }
  const secretParam = credentialQueryParam(parsed);
  if (secretParam !== null) {
    return refuse(
      'query-credential',
      `upstream URL query parameter "${secretParam}" looks like a credential; URLs are stored and shown in plain text, so store it as the connection's credential with authType "query" and authQueryParam "${secretParam}"`,
    );
  }
  // An empty fragment ('https://x/#') serializes with '#' but has hash ''; '#' only appears in a
  // serialized href as the fragment delimiter.
  if (parsed.href.includes('#')) return refuse('fragment', 'upstream URL must not contain a #fragment');
  if (!opts.allowPrivate) {
    const rule = classifyHostname(parsed.hostname);
    if (rule) {
      return refuse(
        rule,
        `upstream host ${parsed.hostname} is ${ADDRESS_RULE_DESCRIPTIONS[rule]} (rule: ${rule})`,
      );
    }
  }
  return { ok: true, url: parsed };
}

/**
 * checkUpstreamUrl with the deployment's setting: private hosts and plain http only where
 * ALLOW_PRIVATE_UPSTREAMS is "true" (local development and tests). For every URL the gateway
 * requests on a tenant's say-so, at save time and again before sending.
 */
export function checkOutboundUrl(env: { ALLOW_PRIVATE_UPSTREAMS?: string }, url: string): UpstreamUrlCheck {
  const allow = env.ALLOW_PRIVATE_UPSTREAMS === 'true';
  return checkUpstreamUrl(url, { allowPrivate: allow, allowHttp: allow });
}

/** checkUpstreamUrl as a zod schema, for request-body validation. The rule is in issue.params. */
export function upstreamUrlSchema(opts: UpstreamUrlOptions) {
  return z.string().superRefine((value, ctx) => {
    const result = checkUpstreamUrl(value, opts);
    if (!result.ok) ctx.addIssue({ code: 'custom', message: result.message, params: { rule: result.rule } });
  });
}
