import { describe, expect, it } from 'vitest';
import { IgrisIdentityError, IgrisMetadataError, type MetadataRule } from './igris.errors.ts';
import { checkTraceId, checkUser, encodeMetadata, newTraceId } from './igris.identity.ts';
import { METADATA_MAX_BYTES, TRACE_ID_MAX_LENGTH, USER_MAX_LENGTH } from './igris.limits.ts';

/** The IgrisMetadataError `fn` throws (fails the test if it throws anything else or nothing). */
function metadataError(fn: () => unknown): IgrisMetadataError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IgrisMetadataError);
    return err as IgrisMetadataError;
  }
  throw new Error('expected an IgrisMetadataError, nothing was thrown');
}

function refused(metadata: unknown, rule: MetadataRule, path: string[]) {
  const err = metadataError(() => encodeMetadata(metadata));
  expect({ rule: err.rule, path: err.path }).toEqual({ rule, path });
  return err;
}

/** `{"k":"xxx…"}` of exactly `bytes` encoded bytes. */
function metadataOfBytes(bytes: number) {
  return { k: 'x'.repeat(bytes - '{"k":""}'.length) };
}

describe('encodeMetadata — the header value', () => {
  it('is the JSON of the metadata', () => {
    const metadata = { role: 'developer', level: 3, active: true, team: { name: 'eng', size: 12 } };
    expect(JSON.parse(encodeMetadata(metadata))).toEqual(metadata);
  });

  it('writes non-ASCII as \\u escapes (fetch refuses header values beyond Latin-1) that decode back', () => {
    const metadata = { name: '田中 José', emoji: '😀', del: '\u007f', clé: 'é' };
    const header = encodeMetadata(metadata);
    expect(header).toMatch(/^[\x20-\x7e]+$/);
    expect(header).toContain('\\u7530\\u4e2d');
    expect(header).toContain('\\ud83d\\ude00');
    expect(JSON.parse(header)).toEqual(metadata);
    expect(() => new Headers({ 'X-Igris-Metadata': header })).not.toThrow();
  });

  it('leaves undefined values out, as JSON.stringify does', () => {
    expect(encodeMetadata({ a: 'x', b: undefined, c: { d: undefined } })).toBe('{"a":"x","c":{}}');
  });

  it('accepts an empty object and null-prototype objects', () => {
    expect(encodeMetadata({})).toBe('{}');
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { role: 'intern' });
    expect(encodeMetadata(bare)).toBe('{"role":"intern"}');
  });

  it('reads each getter once and sends exactly what it checked', () => {
    let reads = 0;
    const metadata = {
      get role() {
        reads++;
        return reads === 1 ? 'intern' : { nested: { too: { deep: 'x' } } };
      },
    };
    expect(encodeMetadata(metadata)).toBe('{"role":"intern"}');
    expect(reads).toBe(1);
  });
});

describe('encodeMetadata — shape (rule not_object)', () => {
  for (const [label, value] of [
    ['an array', ['a']],
    ['null', null],
    ['a string', '{"role":"x"}'],
    ['a number', 1],
    ['a Map', new Map([['role', 'x']])],
    [
      'a class instance',
      new (class Attrs {
        role = 'x';
      })(),
    ],
  ] as const) {
    it(`refuses ${label}`, () => {
      refused(value, 'not_object', []);
    });
  }
});

describe('encodeMetadata — values (rule value_type)', () => {
  const cases: Array<[string, unknown]> = [
    ['null', null],
    ['an array', ['a', 'b']],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['a bigint', 10n],
    ['a function', () => 'x'],
    ['a symbol', Symbol('x')],
    ['a Date', new Date(0)],
    ['a RegExp', /x/],
  ];
  for (const [label, value] of cases) {
    it(`refuses ${label}, naming its path`, () => {
      refused({ role: value }, 'value_type', ['role']);
      refused({ team: { lead: value } }, 'value_type', ['team', 'lead']);
    });
  }

  it('accepts strings, finite numbers (including 0, negatives, fractions) and booleans', () => {
    expect(encodeMetadata({ s: '', n: 0, m: -1.5, t: true, f: false, big: Number.MAX_SAFE_INTEGER })).toBe(
      `{"s":"","n":0,"m":-1.5,"t":true,"f":false,"big":${Number.MAX_SAFE_INTEGER}}`,
    );
  });
});

describe('encodeMetadata — keys', () => {
  it('refuses a dot in a key at any level (rule key_dot)', () => {
    const err = refused({ 'team.name': 'x' }, 'key_dot', ['team.name']);
    expect(err.message).toBe(
      'metadata["team.name"]: key contains a dot; policy fields use dots to address nested keys',
    );
    refused({ team: { 'a.b': 'x' } }, 'key_dot', ['team', 'a.b']);
    refused({ '.': 'x' }, 'key_dot', ['.']);
  });

  it('refuses an own "__proto__" key (rule key_reserved)', () => {
    refused({ ['__proto__']: 'x' }, 'key_reserved', ['__proto__']);
    refused(JSON.parse('{"a":{"__proto__":{"polluted":true}}}'), 'key_reserved', ['a', '__proto__']);
  });

  it('accepts other keys, including empty, unicode and "constructor"', () => {
    const metadata = { '': 'empty', rôle: 'x', constructor: 'y', 'a-b_c:d': 1 };
    expect(JSON.parse(encodeMetadata(metadata))).toEqual(metadata);
  });
});

describe('encodeMetadata — depth (rule depth, 3 levels)', () => {
  it('accepts 3 levels: the object and two nested objects', () => {
    expect(encodeMetadata({ a: { b: { c: 'x' } } })).toBe('{"a":{"b":{"c":"x"}}}');
  });

  it('refuses a 4th level, pointing at it', () => {
    const err = refused({ a: { b: { c: { d: 'x' } } } }, 'depth', ['a', 'b', 'c']);
    expect(err.message).toBe('metadata.a.b.c: nests deeper than 3 levels');
  });

  it('refuses an empty object at the 4th level too (the gateway counts objects, not values)', () => {
    refused({ a: { b: { c: {} } } }, 'depth', ['a', 'b', 'c']);
  });

  it('ends a cycle with a depth error instead of recursing forever', () => {
    const cyclic: Record<string, unknown> = { role: 'x' };
    cyclic.self = cyclic;
    refused(cyclic, 'depth', ['self', 'self', 'self']);
  });
});

describe('encodeMetadata — size (rule size, 4096 bytes)', () => {
  it('accepts exactly 4096 bytes and refuses 4097', () => {
    expect(encodeMetadata(metadataOfBytes(METADATA_MAX_BYTES))).toHaveLength(4096);
    const err = refused(metadataOfBytes(METADATA_MAX_BYTES + 1), 'size', []);
    expect(err.message).toContain('4097 bytes, over the 4096-byte limit');
  });

  it('measures the encoded header, where a non-ASCII character takes 6 bytes', () => {
    const overhead = '{"k":""}'.length;
    const fits = Math.floor((METADATA_MAX_BYTES - overhead) / 6);
    expect(encodeMetadata({ k: 'é'.repeat(fits) })).toHaveLength(overhead + fits * 6);
    refused({ k: 'é'.repeat(fits + 1) }, 'size', []);
  });

  it('counts JSON escaping of quotes and control characters', () => {
    // Each '"' is sent as \" (2 bytes) and each \n as \n (2 bytes).
    const half = Math.floor((METADATA_MAX_BYTES - '{"k":""}'.length) / 2);
    expect(encodeMetadata({ k: '"'.repeat(half) })).toHaveLength('{"k":""}'.length + half * 2);
    refused({ k: '\n'.repeat(half + 1) }, 'size', []);
  });
});

describe('checkUser — X-Igris-User', () => {
  it('trims surrounding whitespace, as the gateway does', () => {
    expect(checkUser('  alice@company.com\t')).toBe('alice@company.com');
  });

  const cases: Array<[string, unknown, string]> = [
    ['empty', '', 'empty'],
    ['whitespace only', '   ', 'empty'],
    ['too long', 'u'.repeat(USER_MAX_LENGTH + 1), 'too_long'],
    ['a newline inside', 'alice\nbob', 'control_character'],
    ['NUL', 'a\u0000b', 'control_character'],
    ['DEL', 'a\u007fb', 'control_character'],
    ['a C1 control', 'a\u0085b', 'control_character'],
    ['Latin-1', 'José', 'non_ascii'],
    ['CJK', '田中', 'non_ascii'],
    ['a lone surrogate', 'a\ud800b', 'non_ascii'],
    ['not a string', 42, 'format'],
  ];
  for (const [label, value, rule] of cases) {
    it(`refuses ${label} (${rule})`, () => {
      try {
        checkUser(value);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(IgrisIdentityError);
        expect({ field: (err as IgrisIdentityError).field, rule: (err as IgrisIdentityError).rule }).toEqual({
          field: 'user',
          rule,
        });
      }
    });
  }

  it('accepts exactly 256 characters after trimming', () => {
    expect(checkUser(` ${'u'.repeat(USER_MAX_LENGTH)} `)).toHaveLength(USER_MAX_LENGTH);
  });
});

describe('checkTraceId — X-Igris-Trace-Id', () => {
  it('accepts the characters and length the gateway accepts', () => {
    expect(checkTraceId('req_abc123')).toBe('req_abc123');
    expect(checkTraceId('a.B:c-9_')).toBe('a.B:c-9_');
    expect(checkTraceId('t'.repeat(TRACE_ID_MAX_LENGTH))).toHaveLength(TRACE_ID_MAX_LENGTH);
  });

  const cases: Array<[string, unknown, string]> = [
    ['empty', '', 'empty'],
    ['129 characters', 't'.repeat(TRACE_ID_MAX_LENGTH + 1), 'too_long'],
    ['a space', 'req 1', 'format'],
    ['a slash', 'req/1', 'format'],
    ['non-ASCII', 'réq', 'format'],
    ['not a string', 7, 'format'],
  ];
  for (const [label, value, rule] of cases) {
    it(`refuses ${label} (${rule})`, () => {
      expect(() => checkTraceId(value)).toThrow(IgrisIdentityError);
      try {
        checkTraceId(value);
      } catch (err) {
        expect((err as IgrisIdentityError).rule).toBe(rule);
        expect((err as IgrisIdentityError).field).toBe('traceId');
      }
    });
  }
});

describe('newTraceId', () => {
  it('is ig_trace_ + 32 lowercase hex characters, different every time', () => {
    const ids = Array.from({ length: 200 }, newTraceId);
    for (const id of ids) expect(id).toMatch(/^ig_trace_[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
