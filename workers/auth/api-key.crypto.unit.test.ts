import { describe, expect, it } from 'vitest';
import {
  generateApiKey,
  hashApiKey,
  looksLikeApiKey,
  redactSecrets,
  timingSafeEqual,
} from './api-key.crypto.ts';

function decodeBase64Url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

describe('generateApiKey', () => {
  it("is 'ig_' + unpadded base64url of 32 bytes", () => {
    const { key } = generateApiKey();
    expect(key).toMatch(/^ig_[A-Za-z0-9_-]{43}$/);
    expect(key).not.toContain('=');
    expect(decodeBase64Url(key.slice(3))).toHaveLength(32);
  });

  it('is URL-safe: survives encodeURIComponent unchanged', () => {
    for (let i = 0; i < 50; i++) {
      const { key } = generateApiKey();
      expect(encodeURIComponent(key)).toBe(key);
    }
  });

  it('exposes the first 10 characters as the prefix', () => {
    const { key, prefix } = generateApiKey();
    expect(prefix).toHaveLength(10);
    expect(prefix.startsWith('ig_')).toBe(true);
    expect(key.startsWith(prefix)).toBe(true);
  });

  it('passes its own format check', () => {
    for (let i = 0; i < 20; i++) expect(looksLikeApiKey(generateApiKey().key)).toBe(true);
  });

  it('is unique and looks random', () => {
    const keys = Array.from({ length: 1000 }, () => generateApiKey().key);
    expect(new Set(keys).size).toBe(keys.length);
    // 1000 keys also make prefix collisions unlikely (7 random chars = 42 bits).
    expect(new Set(keys.map((k) => k.slice(0, 10))).size).toBe(keys.length);
    // Every base64url symbol shows up across the sample, and none dominates.
    const counts = new Map<string, number>();
    for (const key of keys) for (const ch of key.slice(3)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(64);
    const expected = (keys.length * 43) / 64;
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(expected * 0.6);
      expect(count).toBeLessThan(expected * 1.4);
    }
  });

  it('has ~256 bits of entropy per key by bit balance', () => {
    let ones = 0;
    let total = 0;
    for (let i = 0; i < 200; i++) {
      for (const byte of decodeBase64Url(generateApiKey().key.slice(3))) {
        for (let bit = 0; bit < 8; bit++) ones += (byte >> bit) & 1;
        total += 8;
      }
    }
    expect(total).toBe(200 * 256);
    expect(ones / total).toBeGreaterThan(0.48);
    expect(ones / total).toBeLessThan(0.52);
  });
});

describe('hashApiKey', () => {
  it('is lowercase hex SHA-256', async () => {
    // Known vector: SHA-256("abc").
    await expect(hashApiKey('abc')).resolves.toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('is deterministic and distinguishes keys', async () => {
    const { key } = generateApiKey();
    const [a, b] = await Promise.all([hashApiKey(key), hashApiKey(key)]);
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await hashApiKey(generateApiKey().key)).not.toBe(a);
    expect(await hashApiKey(`${key}x`)).not.toBe(a);
  });

  it('does not contain the key', async () => {
    const { key, prefix } = generateApiKey();
    const hash = await hashApiKey(key);
    expect(hash).not.toContain(key);
    expect(hash).not.toContain(prefix);
  });
});

describe('looksLikeApiKey', () => {
  it.each([
    `ig_${'a'.repeat(20)}`,
    `ig_${'a'.repeat(200)}`,
    'ig_test_admin_key_0123456789abcdefghijklmnop',
    'ig_AbC-_123456789012345678',
  ])('accepts %s', (s) => {
    expect(looksLikeApiKey(s)).toBe(true);
  });

  it.each([
    '',
    'ig_',
    `ig_${'a'.repeat(19)}`,
    `ig_${'a'.repeat(201)}`,
    `IG_${'a'.repeat(20)}`,
    `sk_${'a'.repeat(20)}`,
    ` ig_${'a'.repeat(20)}`,
    `ig_${'a'.repeat(20)}\n`,
    `ig_${'a'.repeat(19)}=`,
    `ig_${'a'.repeat(19)}+`,
    `ig_${'a'.repeat(19)}/`,
    `Bearer ig_${'a'.repeat(20)}`,
  ])('refuses %j', (s) => {
    expect(looksLikeApiKey(s)).toBe(false);
  });

  it('refuses non-strings', () => {
    for (const value of [undefined, null, 42, {}, [`ig_${'a'.repeat(20)}`]]) {
      expect(looksLikeApiKey(value)).toBe(false);
    }
  });
});

describe('timingSafeEqual', () => {
  it('is true for equal strings', () => {
    expect(timingSafeEqual('', '')).toBe(true);
    expect(timingSafeEqual('abc', 'abc')).toBe(true);
    const hash = 'f'.repeat(64);
    expect(timingSafeEqual(hash, `${hash}`)).toBe(true);
    expect(timingSafeEqual('héllo🔐', 'héllo🔐')).toBe(true);
  });

  it('is false for any difference, wherever it is', () => {
    const base = 'a'.repeat(64);
    for (const i of [0, 1, 31, 63]) {
      const other = `${base.slice(0, i)}b${base.slice(i + 1)}`;
      expect(timingSafeEqual(base, other)).toBe(false);
      expect(timingSafeEqual(other, base)).toBe(false);
    }
  });

  it('is false for different lengths, including prefixes', () => {
    expect(timingSafeEqual('abc', 'abcd')).toBe(false);
    expect(timingSafeEqual('abcd', 'abc')).toBe(false);
    expect(timingSafeEqual('', 'a')).toBe(false);
  });

  it('handles non-ASCII input', () => {
    // Precomposed vs decomposed é: visually equal, byte-wise different.
    expect(timingSafeEqual('é', 'e')).toBe(false);
    expect(timingSafeEqual('\u00e9', 'e\u0301')).toBe(false);
  });
});

describe('redactSecrets', () => {
  it('replaces every occurrence of every secret', () => {
    const text = 'auth=tok_123 retry auth=tok_123 other=sk_abc';
    expect(redactSecrets(text, ['tok_123', 'sk_abc'])).toBe(
      'auth=[REDACTED] retry auth=[REDACTED] other=[REDACTED]',
    );
  });

  it('leaves text without secrets untouched', () => {
    expect(redactSecrets('nothing here', ['tok_123'])).toBe('nothing here');
    expect(redactSecrets('nothing here', [])).toBe('nothing here');
    expect(redactSecrets('', ['tok_123'])).toBe('');
  });

  it('ignores empty secrets instead of redacting everywhere', () => {
    expect(redactSecrets('abc', ['', 'b'])).toBe('a[REDACTED]c');
  });

  it('treats secrets literally, not as patterns', () => {
    expect(redactSecrets('a.c abc a+b', ['a.c', 'a+b'])).toBe('[REDACTED] abc [REDACTED]');
    expect(redactSecrets('x $& y', ['$&'])).toBe('x [REDACTED] y');
    expect(redactSecrets('(?:[]) \\d', ['(?:[])', '\\d'])).toBe('[REDACTED] [REDACTED]');
  });

  it('redacts nested secrets whole, in any order', () => {
    expect(redactSecrets('key=abcdef', ['abc', 'abcdef'])).toBe('key=[REDACTED]');
    expect(redactSecrets('key=abcdef', ['abcdef', 'abc'])).toBe('key=[REDACTED]');
    expect(redactSecrets('key=abcdef', ['cde'])).toBe('key=ab[REDACTED]f');
  });

  it('leaves no fragment of overlapping secrets', () => {
    expect(redactSecrets('xabcdefx', ['abcd', 'cdef'])).toBe('x[REDACTED]x');
    expect(redactSecrets('aaaa', ['aaa'])).toBe('[REDACTED]');
  });

  it('does not re-match its own marker', () => {
    expect(redactSecrets('RED secret', ['RED', 'secret', 'REDACTED'])).toBe('[REDACTED] [REDACTED]');
  });

  it('redacts generated API keys in log lines', () => {
    const { key } = generateApiKey();
    const line = `request failed: Authorization: Bearer ${key} (url=https://x/?k=${encodeURIComponent(key)})`;
    const redacted = redactSecrets(line, [key]);
    expect(redacted).not.toContain(key);
    expect(redacted.match(/\[REDACTED\]/g)).toHaveLength(2);
  });
});
