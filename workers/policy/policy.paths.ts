/**
 * The two argument operators that compare a *normalised* form, not the text as sent: `hostIn`
 * (a URL's host) and `pathWithin` (a file path). Pure; both fail closed — a value that cannot be
 * normalised does not satisfy the condition, so an allow rule built on them skips.
 */

// ---------------------------------------------------------------------------------------------
// hostIn
// ---------------------------------------------------------------------------------------------

/** A host pattern as the policy stores it: `example.com` or `*.example.com`. */
const HOST_PATTERN_RE =
  /^(\*\.)?(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$|^\[[0-9a-f:.]+\]$/;

export function hostPatternError(pattern: string): string | null {
  const normal = normalizeHostPattern(pattern);
  return HOST_PATTERN_RE.test(normal)
    ? null
    : 'host must be a host name (optionally starting with "*.") or a bracketed IPv6 address';
}

export function normalizeHostPattern(pattern: string): string {
  return pattern.trim().toLowerCase().replace(/\.$/, '');
}

export interface HostSet {
  readonly exact: ReadonlySet<string>;
  /** `*.example.com` stored as `.example.com`: matches any host ending with it (never the apex). */
  readonly suffixes: readonly string[];
}

export function compileHostSet(patterns: readonly string[]): HostSet {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const raw of patterns) {
    const pattern = normalizeHostPattern(raw);
    if (pattern.startsWith('*.')) suffixes.push(pattern.slice(1));
    else exact.add(pattern);
  }
  return { exact, suffixes };
}

/**
 * The value parsed as an absolute URL by the WHATWG parser (the one fetch uses): userinfo
 * (`https://good@evil`), backslashes, IDNA (punycode), percent-encoded hosts and case are all
 * resolved the way a client would resolve them. A trailing dot is dropped. Null when unparsable
 * or hostless (`mailto:`, `file:///x`).
 */
export function urlHost(value: string): string | null {
  // One-entry memo: the rules of one call test the same argument again and again (and a hot
  // caller repeats it); parsing a URL is the expensive part of hostIn.
  if (value === lastUrl) return lastHost;
  lastUrl = value;
  lastHost = parseHost(value);
  return lastHost;
}

let lastUrl: string | null = null;
let lastHost: string | null = null;

function parseHost(value: string): string | null {
  if (!URL.canParse(value)) return null;
  const host = new URL(value).hostname;
  if (host === '') return null;
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

export function hostIn(set: HostSet, value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const host = urlHost(value);
  if (host === null) return false;
  if (set.exact.has(host)) return true;
  for (const suffix of set.suffixes) if (host.endsWith(suffix)) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// pathWithin
// ---------------------------------------------------------------------------------------------

/** Percent-decoding is repeated (double-encoded `%252e%252e`) at most this many times. */
const MAX_DECODE_ROUNDS = 3;
const DRIVE_RE = /^[a-z]:\//i;
// NUL truncates paths in C APIs; other controls have no business in a file path.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is what this matches.
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/**
 * The absolute, canonical form of a path, or null when it has none:
 * - percent-encoding decoded (repeatedly, so `%252e` counts as `.`); malformed encoding → null;
 * - backslashes read as separators (Windows servers treat them so);
 * - `.` and empty segments (`//`) dropped, `..` resolved; `..` above the root → null;
 * - relative paths → null (the server's working directory is unknown, so "inside" is unknowable);
 * - control characters (NUL truncation tricks) → null.
 * A Windows drive (`C:/…`) is kept as the first segment, in upper case.
 */
export function normalizePath(raw: string): string | null {
  // One-entry memo, as for urlHost: the same argument is normalised once per call, not per rule.
  if (raw === lastRawPath) return lastPath;
  lastRawPath = raw;
  lastPath = canonicalPath(raw);
  return lastPath;
}

let lastRawPath: string | null = null;
let lastPath: string | null = null;

function canonicalPath(raw: string): string | null {
  let value = raw;
  for (let round = 0; value.includes('%'); round++) {
    if (round === MAX_DECODE_ROUNDS) return null;
    try {
      value = decodeURIComponent(value);
    } catch {
      return null;
    }
  }
  if (CONTROL_RE.test(value)) return null;
  value = value.replaceAll('\\', '/');
  let drive = '';
  if (DRIVE_RE.test(value)) {
    drive = value.slice(0, 2).toUpperCase();
    value = value.slice(2);
  }
  if (!value.startsWith('/')) return null;
  const out: string[] = [];
  for (const segment of value.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) return null;
      out.pop();
      continue;
    }
    out.push(segment);
  }
  return `${drive}/${out.join('/')}`;
}

/** Roots are normalised once, when the policy is compiled; `/` contains every absolute path. */
export function compileRoots(roots: readonly string[]): readonly string[] {
  return roots.map((root) => normalizePath(root) ?? '\u0000never');
}

export function rootError(root: string): string | null {
  return normalizePath(root) === null
    ? 'root must be an absolute path ("/srv/work" or "C:\\work") without ".." above the root'
    : null;
}

export function pathWithin(roots: readonly string[], value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const path = normalizePath(value);
  if (path === null) return false;
  for (const root of roots) {
    if (path === root) return true;
    const base = root.endsWith('/') ? root : `${root}/`;
    if (path.startsWith(base)) return true;
  }
  return false;
}
