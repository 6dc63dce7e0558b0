/**
 * Passthrough request inspection against generated bodies (inspection.passthrough.ts): random JSON
 * values — nested objects and arrays, unicode, escapes, addresses and keys at random places, some
 * split or encoded — each read, scanned and, where the body is one JSON value, rewritten. Whatever
 * the body, three things hold: the verdict is a forward or a typed refusal (no other exception);
 * a forwarded rewrite is valid JSON of the same shape with no planted value left in it; and a body
 * carrying a planted value in plain text is never forwarded as sent. Seeded, so a failure replays.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors';
import { builtinPacks, builtinRules } from './inspection.builtin';
import { compileRules } from './inspection.engine';
import { inspectPassthrough } from './inspection.passthrough';
import type { InspectableBody } from './inspection.passthrough.read';
import type { CallInspection } from './inspection.types';

/** A small seeded generator (mulberry32): the same seed makes the same bodies. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ADDRESSES = ['jane.doe@example.com', 'a.b-c@mail.example.org', 'ops+alerts@corp.example.net'];
const FILLER = [
  'hello',
  'the',
  'résumé',
  '日本語',
  'emoji 🎉',
  'tab\tand\nnewline',
  'quote " and \\',
  '',
  ' ',
];

interface Gen {
  next: () => number;
  planted: Set<string>;
}

const pick = <T>(g: Gen, xs: readonly T[]): T => xs[Math.floor(g.next() * xs.length)]!;

function text(g: Gen): string {
  const words: string[] = [];
  const n = Math.floor(g.next() * 5);
  for (let i = 0; i < n; i++) {
    if (g.next() < 0.25) {
      const address = pick(g, ADDRESSES);
      g.planted.add(address);
      words.push(address);
    } else words.push(pick(g, FILLER));
  }
  return words.join(pick(g, [' ', ', ', '\n', '']));
}

function value(g: Gen, depth: number): unknown {
  const r = g.next();
  if (depth > 4 || r < 0.35) return text(g);
  if (r < 0.45) return pick(g, [0, 1.5, -3, true, false, null]);
  if (r < 0.7) return Array.from({ length: Math.floor(g.next() * 4) }, () => value(g, depth + 1));
  const out: Record<string, unknown> = {};
  const n = Math.floor(g.next() * 4);
  for (let i = 0; i < n; i++) out[g.next() < 0.1 ? text(g) || `k${i}` : `k${i}`] = value(g, depth + 1);
  return out;
}

function inspection(): CallInspection {
  return {
    engine: compileRules(
      builtinRules(),
      ['secrets-default', 'llm-compliance-gdpr'].map((name) => builtinPacks().get(name)!),
    ),
    redactResults: true,
    found: [],
    session: null,
  };
}

const JSON_BODY: InspectableBody = { search: '', type: 'application/json', parts: null, fault: null };

/** The value with every string replaced by a marker: what a rewrite must keep. */
function shape(v: unknown): unknown {
  if (typeof v === 'string') return 's';
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === 'object') return Object.values(v).map(shape);
  return v;
}

describe('passthrough inspection of generated JSON bodies', () => {
  it('forwards a rewrite of the same shape with no planted value, or refuses with a typed error', () => {
    let rewritten = 0;
    let refused = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const g: Gen = { next: rng(seed), planted: new Set() };
      const sent = { model: 'm', input: value(g, 0) };
      const raw = new TextEncoder().encode(JSON.stringify(sent));
      const insp = inspection();
      let verdict: ReturnType<typeof inspectPassthrough>;
      try {
        verdict = inspectPassthrough(
          insp,
          { endpoint: 'passthrough', forwarded: { target: 'POST /x', raw }, inspectable: JSON_BODY },
          0,
        );
      } catch (err) {
        throw new Error(`seed ${seed}: threw ${String(err)}`);
      }
      const where = `seed ${seed}: ${JSON.stringify(sent).slice(0, 300)}`;
      if (verdict.refusal) {
        refused++;
        expect(verdict.refusal, where).toBeInstanceOf(AppError);
        const said = JSON.stringify([verdict.refusal.message, verdict.refusal.details, verdict.findings]);
        for (const address of ADDRESSES) expect(said, where).not.toContain(address);
        continue;
      }
      if (g.planted.size === 0) {
        expect(verdict.forward, where).toBeNull();
        continue;
      }
      // A planted address in plain text: the body is never forwarded as sent.
      expect(verdict.forward, where).not.toBeNull();
      rewritten++;
      const out = new TextDecoder().decode(verdict.forward!);
      for (const address of g.planted) expect(out, where).not.toContain(address);
      const parsed = JSON.parse(out) as { input: unknown };
      // Keys holding an address are renamed, so only the values' shape is compared.
      expect(shape(parsed.input), where).toEqual(shape(sent.input));
      expect(JSON.stringify(verdict.findings), where).not.toMatch(/@example\.(com|org|net)/);
    }
    // The generator reaches both outcomes (a run that only refused would prove nothing of rewrites).
    expect(rewritten).toBeGreaterThan(50);
    // Keys holding an address are refused (a passthrough key is not rewritten): some of each.
    expect(refused).toBeGreaterThan(0);
  });
});
