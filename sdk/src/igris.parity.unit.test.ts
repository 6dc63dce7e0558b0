/**
 * The SDK and the gateway must agree on every identity limit: what the SDK accepts, the gateway
 * accepts unchanged, and what the gateway would ignore, the SDK refuses. The SDK cannot import the
 * gateway's parser (the published package is self-contained), so this test imports both and
 * compares them — constants directly, behaviour with generated inputs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { slugSchema } from '../../workers/connections/connection.rules.ts';
import * as gateway from '../../workers/identity/identity.metadata.ts';
import { IgrisIdentityError, IgrisMetadataError } from './igris.errors.ts';
import { checkTraceId, checkUser, encodeMetadata, newTraceId } from './igris.identity.ts';
import * as sdk from './igris.limits.ts';

const RUNS = 2_000;

function sdkAccepts(fn: () => unknown, errorClass: typeof IgrisMetadataError | typeof IgrisIdentityError) {
  try {
    fn();
    return true;
  } catch (err) {
    if (!(err instanceof errorClass)) throw err;
    return false;
  }
}

/** The bytes the gateway would receive for `metadata` from the SDK, without the SDK's checks. */
function wireJson(metadata: unknown): string {
  return JSON.stringify(metadata).replace(
    /[\u007f-\uffff]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

// Keys: mostly short and plain, sometimes with a dot, sometimes "__proto__", sometimes unicode.
const keyArb = fc.oneof(
  { weight: 6, arbitrary: fc.string({ minLength: 0, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom('a.b', '.', '__proto__', 'rôle', '田') },
);
const scalarArb = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.boolean(),
);
// Objects up to 5 levels deep, so both sides of the depth limit are generated.
const { metadata: metadataArb } = fc.letrec<{ metadata: Record<string, unknown>; value: unknown }>((tie) => ({
  metadata: fc.dictionary(keyArb, tie('value'), { maxKeys: 5 }).map((entries) => {
    // fc.dictionary builds a normal object; re-create "__proto__" as an own key like JSON.parse does.
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entries))
      Object.defineProperty(out, k, { value: v, enumerable: true });
    return out;
  }),
  value: fc.oneof({ depthSize: 'small', maxDepth: 4 }, scalarArb, tie('metadata')),
}));
// Objects whose encoded size lands within a few bytes of the limit, on either side, with
// non-ASCII text (6 bytes per code unit on the wire) mixed in.
const bigMetadataArb = fc
  .tuple(fc.string({ unit: 'binary', maxLength: 40 }), fc.integer({ min: -8, max: 8 }))
  .map(([text, offset]) => {
    const base = wireJson({ u: text, p: '' }).length;
    return { u: text, p: 'x'.repeat(Math.max(0, sdk.METADATA_MAX_BYTES + offset - base)) };
  });

describe('constants', () => {
  it('equal the gateway’s', () => {
    expect(sdk.METADATA_MAX_BYTES).toBe(gateway.METADATA_MAX_BYTES);
    expect(sdk.METADATA_MAX_DEPTH).toBe(gateway.METADATA_MAX_DEPTH);
    expect(sdk.USER_MAX_LENGTH).toBe(gateway.USER_MAX_LENGTH);
    expect(sdk.TRACE_ID_MAX_LENGTH).toBe(gateway.TRACE_ID_MAX_LENGTH);
    expect(sdk.TRACE_ID_PREFIX).toBe(gateway.TRACE_ID_PREFIX);
  });
});

describe('metadata: the SDK accepts exactly what the gateway accepts', () => {
  for (const [label, arb] of [
    ['nested objects', metadataArb],
    ['objects near the size limit', bigMetadataArb],
  ] as const) {
    it(`for generated ${label}`, () => {
      fc.assert(
        fc.property(arb, (metadata) => {
          const accepted = sdkAccepts(() => encodeMetadata(metadata), IgrisMetadataError);
          const parsed = gateway.parseMetadata(wireJson(metadata));
          expect(accepted).toBe(parsed.ignoredReason === null);
          if (accepted) {
            // The gateway sees the same header and recovers the same object.
            expect(encodeMetadata(metadata)).toBe(wireJson(metadata));
            expect(parsed.metadata).toEqual(JSON.parse(JSON.stringify(metadata)));
          }
        }),
        { numRuns: RUNS },
      );
    });
  }

  it('and every refusal reason has a gateway counterpart', () => {
    const samples: Record<string, unknown> = {
      key_dot: { 'a.b': 1 },
      key_reserved: JSON.parse('{"__proto__":1}'),
      depth: { a: { b: { c: { d: 1 } } } },
      size: { k: 'x'.repeat(5000) },
    };
    for (const [rule, metadata] of Object.entries(samples)) {
      try {
        encodeMetadata(metadata);
        expect.unreachable(rule);
      } catch (err) {
        expect((err as IgrisMetadataError).rule).toBe(rule);
      }
      expect(gateway.parseMetadata(wireJson(metadata)).metadata).toBeNull();
    }
  });
});

describe('user: what the SDK sends, the gateway keeps unchanged', () => {
  it('for generated strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.string({ unit: 'binary', maxLength: 30 }),
          // Around the length limit, with surrounding whitespace that does not count.
          fc
            .tuple(fc.integer({ min: 250, max: 262 }), fc.constantFrom('', ' ', '\t '))
            .map(([length, pad]) => `${pad}${'u'.repeat(length)}${pad}`),
        ),
        (user) => {
          const accepted = sdkAccepts(() => checkUser(user), IgrisIdentityError);
          const parsed = gateway.parseUser(user);
          if (accepted) expect(parsed).toEqual({ user: checkUser(user), ignoredReason: null });
          // The SDK refuses more than the gateway only for non-ASCII, which headers cannot carry.
          if (!accepted && parsed.ignoredReason === null) expect(parsed.user).toMatch(/[^\x20-\x7e]/);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('trace id', () => {
  it('the SDK accepts exactly the ids the gateway keeps', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 140 }),
          fc.stringMatching(/^[A-Za-z0-9._:-]{0,12}$/),
          fc.stringMatching(/^[A-Za-z0-9._:-]{124,132}$/),
        ),
        (traceId) => {
          const accepted = sdkAccepts(() => checkTraceId(traceId), IgrisIdentityError);
          expect(accepted).toBe(gateway.isValidTraceId(traceId));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('the SDK’s generated ids are kept by the gateway, not replaced', () => {
    for (let i = 0; i < 100; i++) {
      const id = newTraceId();
      expect(gateway.parseTraceId(id)).toEqual({ traceId: id, generated: false, ignoredReason: null });
    }
  });
});

describe('connection slug', () => {
  it('SLUG_PATTERN accepts exactly what the API’s slug schema accepts', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 70 }),
          fc.stringMatching(/^[a-z0-9_-]{0,5}$/),
          fc.stringMatching(/^[a-z0-9_-]{62,66}$/),
        ),
        (slug) => {
          expect(sdk.SLUG_PATTERN.test(slug)).toBe(slugSchema.safeParse(slug).success);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
