/**
 * The isolate caches that hold connections (connection.caches.ts: the ig_ key cache's resolved
 * connections, OAuth callers, parsed settings) and credential forms (gateway.redact.ts) are
 * bounded by bytes, not only by count: one tenant's keys × slugs, tokens or credentials must not
 * fill the isolate every organization shares. Each test fills a cache with heavy entries the
 * validation limits allow — settings of ~500 KB of JSON (a management body is 1 MiB), an
 * 8,192-character credential — far fewer than the count bound, and shows the oldest was dropped:
 * under the count bound alone it was kept.
 */
import { describe, expect, it } from 'vitest';
import { WeightedMap } from '../lib/bounded.map';
import {
  connectionWeight,
  memoizedSettings,
  OAUTH_CACHE_BYTES,
  OAUTH_CACHE_LIMIT,
  RESOLVED_CACHE_BYTES,
  RESOLVED_CACHE_LIMIT,
  rememberConnection,
  SETTINGS_CACHE_BYTES,
  SETTINGS_CACHE_LIMIT,
  type WeighedConnection,
} from './connection.caches';
import { formsFor } from './gateway.redact';

const CREDENTIAL_CHARS = 8192;

/** Settings of about `chars` characters of JSON: per-rule overrides, which take any keys. */
function heavySettings(tag: string, chars: number): string {
  const rules: Record<string, string> = {};
  let length = 0;
  for (let i = 0; length < chars; i += 1) {
    const name = `${tag}-rule-${i}`;
    rules[name] = 'off';
    length += name.length + 9; // "name":"off",
  }
  return JSON.stringify({ inspection: { packs: [], overrides: { rules } } });
}

const settingsCache = new WeightedMap<string, object>(SETTINGS_CACHE_LIMIT, SETTINGS_CACHE_BYTES);

function heavyConnection(slug: string, settingsText: string): WeighedConnection {
  return {
    id: `conn_${slug}`,
    orgId: 'org_heavy',
    slug,
    upstreamUrl: 'https://mcp.example.com/',
    authHeaderName: null,
    createdBy: null,
    // base64 of an 8,192-character credential with its IV and tag.
    credentialCiphertext: 'c'.repeat(Math.ceil((CREDENTIAL_CHARS * 4) / 3) + 60),
    settings: memoizedSettings(settingsCache, settingsText, (text) => JSON.parse(text) as object),
  };
}

describe('connection caches are bounded by weight', () => {
  it('parsed settings of 500,000 characters each: a few are kept, not 1,000', () => {
    const cache = new WeightedMap<string, object>(SETTINGS_CACHE_LIMIT, SETTINGS_CACHE_BYTES);
    let parses = 0;
    const parse = (text: string) => {
      parses += 1;
      return JSON.parse(text) as object;
    };
    const texts = Array.from({ length: 20 }, (_, i) => heavySettings(`s${i}`, 500_000));
    const first = memoizedSettings(cache, texts[0]!, parse);
    for (const text of texts.slice(1)) memoizedSettings(cache, text, parse);
    expect(memoizedSettings(cache, texts[19]!, parse)).toBe(memoizedSettings(cache, texts[19]!, parse));
    expect(parses).toBe(20);
    expect(memoizedSettings(cache, texts[0]!, parse)).not.toBe(first);
    expect(parses).toBe(21);
    // One parsed text weighs more than the whole budget: it is kept alone.
    expect(cache.size).toBe(1);
  });

  it("a key's resolved connections with heavy settings keep to their bytes", () => {
    const resolved = new WeightedMap<string, { connection: WeighedConnection }>(
      RESOLVED_CACHE_LIMIT,
      RESOLVED_CACHE_BYTES,
    );
    const connections = Array.from({ length: 40 }, (_, i) =>
      heavyConnection(`heavy-${i}`, heavySettings(`c${i}`, 500_000)),
    );
    // One entry weighs megabytes (settings parsed from 500,000 characters).
    expect(connectionWeight(connections[0]!)).toBeGreaterThan(1_000_000);
    for (const connection of connections) {
      rememberConnection(resolved, `hash\u0000${connection.slug}`, { connection }, connection);
    }
    // 40 ≪ 10,000 entries: the newest is kept, the first was dropped for weight.
    expect(resolved.get('hash\u0000heavy-39')?.connection).toBe(connections[39]);
    expect(resolved.get('hash\u0000heavy-0')).toBeUndefined();
    // Only as many as the byte budget carries (a few), and the newest beyond it.
    expect(resolved.size).toBeLessThanOrEqual(
      Math.floor(RESOLVED_CACHE_BYTES / connectionWeight(connections[0]!)) + 1,
    );
  });

  it('credentials of 8,192 characters: 10,000 connections are held to the budget', () => {
    const resolved = new WeightedMap<string, WeighedConnection>(RESOLVED_CACHE_LIMIT, RESOLVED_CACHE_BYTES);
    const settings = heavySettings('small', 200);
    for (let i = 0; i < RESOLVED_CACHE_LIMIT; i += 1) {
      const connection = heavyConnection(`slug-${i}`, settings);
      rememberConnection(resolved, `${i}`.padStart(64, '0'), connection, connection);
    }
    expect(resolved.weight).toBeLessThanOrEqual(RESOLVED_CACHE_BYTES);
    expect(resolved.get('0'.padStart(64, '0'))).toBeUndefined();
    // Each entry carries ~22 KB of ciphertext and credential at two bytes a character.
    expect(resolved.size).toBeLessThan(RESOLVED_CACHE_BYTES / 20_000);
  });

  it('OAuth callers holding heavy connections are dropped for weight', () => {
    const entries = new WeightedMap<string, { connection: WeighedConnection }>(
      OAUTH_CACHE_LIMIT,
      OAUTH_CACHE_BYTES,
    );
    const connection = heavyConnection('oauth', heavySettings('oauth', 300_000));
    for (let i = 0; i < 100; i += 1) {
      rememberConnection(
        entries,
        `token-${i}\u0000https://gateway.example.com/v1/mcp/oauth`,
        { connection },
        connection,
        13,
      );
    }
    expect(entries.size).toBe(1);
    expect(entries.has('token-99\u0000https://gateway.example.com/v1/mcp/oauth')).toBe(true);
  });

  it('the forms of many long credentials are dropped for weight', () => {
    const credentials = Array.from({ length: 500 }, (_, i) => `${i}/`.padEnd(CREDENTIAL_CHARS, 'x+/'));
    const first = formsFor(credentials[0]!);
    for (const credential of credentials.slice(1)) formsFor(credential);
    const last = credentials[credentials.length - 1]!;
    expect(formsFor(last)).toBe(formsFor(last));
    // 500 ≪ 1,000 credentials, but megabytes of forms: the first ones were made again.
    expect(formsFor(credentials[0]!)).not.toBe(first);
  });
});
