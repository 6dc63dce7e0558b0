import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  METADATA_MAX_BYTES,
  newTraceId,
  parseMetadata,
  parseTraceId,
  parseUser,
  USER_MAX_LENGTH,
  utf8ByteLength,
} from './identity.metadata.ts';

const ok = (metadata: Record<string, unknown>) => ({ metadata, ignoredReason: null });
const ignored = (ignoredReason: string) => ({ metadata: null, ignoredReason });

/** A JSON object whose serialisation is exactly `bytes` UTF-8 bytes, padded with `fill`. */
function objectOfBytes(bytes: number, fill = 'x'): string {
  const overhead = '{"k":""}'.length;
  const fillBytes = new TextEncoder().encode(fill).length;
  const count = Math.floor((bytes - overhead) / fillBytes);
  const text = `{"k":"${fill.repeat(count)}"}`;
  const rest = bytes - new TextEncoder().encode(text).length;
  return `${' '.repeat(rest)}${text}`;
}

describe('parseMetadata — presence and size', () => {
  it('treats an absent header as absent, without a reason', () => {
    expect(parseMetadata(null)).toEqual({ metadata: null, ignoredReason: null });
    expect(parseMetadata(undefined)).toEqual({ metadata: null, ignoredReason: null });
  });

  it('accepts exactly 4096 bytes and ignores 4097', () => {
    const atLimit = objectOfBytes(METADATA_MAX_BYTES);
    expect(new TextEncoder().encode(atLimit).length).toBe(4096);
    expect(parseMetadata(atLimit).ignoredReason).toBeNull();
    const overLimit = objectOfBytes(METADATA_MAX_BYTES + 1);
    expect(new TextEncoder().encode(overLimit).length).toBe(4097);
    expect(parseMetadata(overLimit)).toEqual(ignored('metadata exceeds 4096 bytes'));
  });

  it('counts UTF-8 bytes, not characters', () => {
    // 'é' is 2 bytes, '€' 3 bytes, '😀' 4 bytes (2 UTF-16 units).
    for (const fill of ['é', '€', '😀']) {
      const atLimit = objectOfBytes(METADATA_MAX_BYTES, fill);
      expect(atLimit.length).toBeLessThan(METADATA_MAX_BYTES);
      expect(parseMetadata(atLimit).ignoredReason).toBeNull();
      expect(parseMetadata(objectOfBytes(METADATA_MAX_BYTES + 1, fill))).toEqual(
        ignored('metadata exceeds 4096 bytes'),
      );
    }
    const twoByteChars = `{"k":"${'é'.repeat(2100)}"}`; // 2,108 characters, 4,208 bytes
    expect(twoByteChars.length).toBeLessThan(METADATA_MAX_BYTES);
    expect(parseMetadata(twoByteChars)).toEqual(ignored('metadata exceeds 4096 bytes'));
  });

  it('refuses oversized input before parsing it', () => {
    expect(parseMetadata(`{"k":"${'x'.repeat(100_000)}`)).toEqual(ignored('metadata exceeds 4096 bytes'));
  });
});

describe('utf8ByteLength', () => {
  it('matches TextEncoder, including lone surrogates', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.string({ unit: fc.constantFrom('\ud800', '\udc00', 'a', '😀') }),
        (a, b) => {
          for (const text of [a, b, a + b])
            expect(utf8ByteLength(text)).toBe(new TextEncoder().encode(text).length);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('parseMetadata — JSON shape', () => {
  it.each(['', ' ', '{', '{"a":1,}', "{'a':1}", '{a:1}', 'undefined', 'NaN', '{"a":1}x'])(
    'ignores invalid JSON %j',
    (raw) => {
      expect(parseMetadata(raw)).toEqual(ignored('metadata is not valid JSON'));
    },
  );

  it.each(['[]', '[{"a":1}]', '"str"', '42', 'true', 'null'])('ignores non-object JSON %s', (raw) => {
    expect(parseMetadata(raw)).toEqual(ignored('metadata must be a JSON object'));
  });

  it('accepts every JSON value type within the limits', () => {
    const raw = '{"s":"x","n":-1.5e3,"t":true,"f":false,"z":null,"o":{"a":[1,"2",null]},"e":{},"l":[]}';
    expect(parseMetadata(raw)).toEqual(ok(JSON.parse(raw)));
  });

  it('tolerates surrounding whitespace and unicode keys and values', () => {
    expect(parseMetadata(' {"rôle":"ünï","😀":1} ')).toEqual(ok({ rôle: 'ünï', '😀': 1 }));
  });
});

describe('parseMetadata — depth', () => {
  it.each([
    ['{"a":1}', 1],
    ['{"a":{"b":1}}', 2],
    ['{"a":{"b":{"c":1}}}', 3],
    ['{"a":{"b":{}}}', 3],
    ['{"a":[1,2]}', 2],
    ['{"a":[[1]]}', 3],
    ['{"a":[{"b":1}]}', 3],
    ['{"a":{"b":[]}}', 3],
  ])('accepts %s (depth %d)', (raw) => {
    expect(parseMetadata(raw).ignoredReason).toBeNull();
  });

  it.each([
    '{"a":{"b":{"c":{"d":1}}}}',
    '{"a":{"b":{"c":{}}}}',
    '{"a":{"b":{"c":[]}}}',
    '{"a":[[[1]]]}',
    '{"a":[[{}]]}',
    '{"a":[{"b":[1]}]}',
    '{"ok":1,"deep":{"b":{"c":{"d":1}}}}',
  ])('ignores %s (depth 4)', (raw) => {
    expect(parseMetadata(raw)).toEqual(ignored('metadata nesting exceeds 3 levels'));
  });

  it('handles very deep nesting within the byte limit', () => {
    const raw = `{"a":${'['.repeat(2000)}${']'.repeat(2000)}}`;
    expect(parseMetadata(raw)).toEqual(ignored('metadata nesting exceeds 3 levels'));
  });
});

describe('parseMetadata — keys', () => {
  it.each([
    ['{"a.b":1}', 'a.b'],
    ['{"x":{"a.b":1}}', 'a.b'],
    ['{"x":{"y":{".":1}}}', '.'],
    ['{"x":[{"k.":1}]}', 'k.'],
  ])('ignores %s because of a dotted key', (raw, key) => {
    expect(parseMetadata(raw)).toEqual(ignored(`metadata key ${JSON.stringify(key)} contains a dot`));
  });

  it('reports the dotted key quoted, exactly as documented', () => {
    expect(parseMetadata('{"a.b":1}').ignoredReason).toBe('metadata key "a.b" contains a dot');
  });

  it('allows dots in values', () => {
    expect(parseMetadata('{"host":"a.b.c"}')).toEqual(ok({ host: 'a.b.c' }));
  });

  it('refuses a __proto__ key at any level', () => {
    expect(parseMetadata('{"__proto__":{"admin":true}}')).toEqual(
      ignored('metadata key "__proto__" is not allowed'),
    );
    expect(parseMetadata('{"a":{"__proto__":1}}').ignoredReason).toBe(
      'metadata key "__proto__" is not allowed',
    );
  });

  it('returns plain objects whose keys are own data', () => {
    const result = parseMetadata('{"constructor":"x","toString":1}');
    expect(result.metadata).toEqual({ constructor: 'x', toString: 1 });
  });
});

describe('parseMetadata — properties', () => {
  it('never throws; accepted metadata is a plain object that round-trips', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.json({ depthSize: 'large' })), (raw) => {
        const result = parseMetadata(raw);
        expect((result.metadata === null) !== (result.ignoredReason === null)).toBe(true);
        if (result.metadata !== null) {
          expect(Object.getPrototypeOf(result.metadata)).toBe(Object.prototype);
          expect(JSON.parse(JSON.stringify(result.metadata))).toEqual(JSON.parse(raw));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseUser', () => {
  it('returns absent without a reason when the header is absent', () => {
    expect(parseUser(null)).toEqual({ user: null, ignoredReason: null });
  });

  it('trims', () => {
    expect(parseUser('  alice@example.com \t')).toEqual({ user: 'alice@example.com', ignoredReason: null });
  });

  it('ignores an empty value', () => {
    expect(parseUser('   ')).toEqual({ user: null, ignoredReason: 'user is empty' });
  });

  it('accepts 256 characters and ignores 257 (after trimming)', () => {
    expect(parseUser('u'.repeat(USER_MAX_LENGTH)).user).toHaveLength(256);
    expect(parseUser(` ${'u'.repeat(USER_MAX_LENGTH)} `).user).toHaveLength(256);
    expect(parseUser('u'.repeat(USER_MAX_LENGTH + 1))).toEqual({
      user: null,
      ignoredReason: 'user exceeds 256 characters',
    });
  });

  it.each(['a\u0000b', 'a\nb', 'a\tb', 'a\u001bb', 'a\u007fb', 'a\u0085b', 'a\u009fb'])(
    'refuses control characters in %j',
    (raw) => {
      expect(parseUser(raw)).toEqual({ user: null, ignoredReason: 'user contains control characters' });
    },
  );

  it('refuses lone surrogates and accepts unicode', () => {
    expect(parseUser('a\ud800b').ignoredReason).toBe('user contains invalid unicode');
    expect(parseUser('Zoë 😀')).toEqual({ user: 'Zoë 😀', ignoredReason: null });
  });
});

describe('trace ids', () => {
  it('generates ig_trace_ + 32 lowercase hex characters, distinct each time', () => {
    const ids = new Set(Array.from({ length: 100 }, newTraceId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^ig_trace_[0-9a-f]{32}$/);
  });

  it.each(['abc', 'A-Z.a_z:0-9', 'x'.repeat(128), '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'])(
    'accepts %j',
    (raw) => {
      expect(parseTraceId(raw)).toEqual({ traceId: raw, generated: false, ignoredReason: null });
    },
  );

  it('generates a new id when absent, without a reason', () => {
    const result = parseTraceId(null);
    expect(result.generated).toBe(true);
    expect(result.ignoredReason).toBeNull();
    expect(result.traceId).toMatch(/^ig_trace_[0-9a-f]{32}$/);
  });

  it.each(['', 'x'.repeat(129), 'a b', 'a/b', 'ü', 'a\nb', '<script>'])('replaces invalid %j', (raw) => {
    const result = parseTraceId(raw);
    expect(result.generated).toBe(true);
    expect(result.traceId).toMatch(/^ig_trace_[0-9a-f]{32}$/);
    expect(result.ignoredReason).toMatch(/^trace id must be/);
  });
});

describe('identity values that are credentials are not kept', () => {
  const GITHUB = 'ghp_PTTv6vsndhgF9eRW1veDgS0dYlaFqhLidHDy';
  const AWS = 'AKIATOKLVWZ0PT0JWG0Y';

  it('a trace id that is a credential is replaced, with the reason', () => {
    for (const raw of [GITHUB, AWS, `run:${AWS}`]) {
      const result = parseTraceId(raw);
      expect(result.generated).toBe(true);
      expect(result.traceId).toMatch(/^ig_trace_[0-9a-f]{32}$/);
      expect(result.ignoredReason).toMatch(/looks like a credential/);
    }
  });

  it('a random trace id is kept (the high-entropy rule does not apply to ids)', () => {
    const raw = '3f2b8c1e9a4d4e7fb2c61d8e5f0a7b3c';
    expect(parseTraceId(raw)).toEqual({ traceId: raw, generated: false, ignoredReason: null });
  });

  it('a user that is a credential is ignored; a user name is kept', () => {
    expect(parseUser(`token ${GITHUB}`)).toEqual({
      user: null,
      ignoredReason: expect.stringMatching(/credential/),
    });
    expect(parseUser('jane@example.com')).toEqual({ user: 'jane@example.com', ignoredReason: null });
  });

  it('a dotted metadata key that is a credential is not quoted in the reason', () => {
    const reason = parseMetadata(`{"${AWS}.x":1}`).ignoredReason;
    expect(reason).toBe('metadata key "[key]" contains a dot');
  });
});
