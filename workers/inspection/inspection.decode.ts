/**
 * Finds encoded spans worth a second look and decodes them: base64 (standard and URL-safe), raw
 * hex, URL percent-encoding, HTML entities and escape sequences (`\u003c`, `\x3c`, `%u003c`).
 *
 * Only spans that decode to text (mostly printable, not binary) are returned; the engine scans the
 * decoded text again, recursively to a small depth and within a byte budget (inspection.engine.ts).
 * A base64 blob of an image or a hash in hex decodes to bytes, not text, and is left alone.
 *
 * Tokens are whitespace-separated runs; URL, HTML and escape encodings often span several tokens
 * (`&lt;img src=x onerror=alert(1)&gt;`), so neighbouring tokens of one kind are merged into one
 * span, with at most two plain tokens between them. Such a span also takes in up to two plain
 * tokens on each side: these encodings leave plain characters as they are, and an attacker
 * encodes one letter (`%55NION SELECT`) so that neither part alone reads as the attack.
 * Everything here is one left-to-right pass.
 */
import { decodeHtml } from './inspection.html.js';
import type { Signal } from './inspection.schema.js';
import {
  BASE64_RUN,
  HEX_RUN,
  type Interest,
  InterestScanner,
  isSpace,
  lastTwoStarts,
  longRuns,
  MAX_TOKEN,
  pieceStart,
} from './inspection.tokens.js';

export type EncodingKind = 'base64' | 'hex' | 'url' | 'html' | 'unicode';
export const ENCODING_SIGNAL: Record<EncodingKind, Signal> = {
  base64: 'encoded_base64',
  hex: 'encoded_hex',
  url: 'encoded_url',
  html: 'encoded_html',
  unicode: 'encoded_unicode',
};

export interface EncodedSpan {
  kind: EncodingKind;
  /** Span in the text given to findEncodedSpans. */
  start: number;
  end: number;
  decoded: string;
}

const MIN_DECODED = 6;
const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });

/** Text, not bytes: at least 85% printable, and at least one letter. */
function looksTextual(s: string): boolean {
  if (s.length < MIN_DECODED) return false;
  let printable = 0;
  let letters = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 32 && c < 127) || c === 9 || c === 10 || c === 13 || (c >= 160 && c !== 0xfffd)) printable++;
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) letters++;
  }
  return printable / s.length >= 0.85 && letters > 0;
}

function bytesToText(bytes: number[]): string {
  return utf8.decode(new Uint8Array(bytes));
}

/** Base64 digit values (standard and URL-safe alphabets); -1 for anything else. */
const BASE64_VALUE = new Int8Array(128).fill(-1);
for (const [k, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries())
  BASE64_VALUE[c.charCodeAt(0)] = k;
BASE64_VALUE[45] = 62; // '-'
BASE64_VALUE[95] = 63; // '_'

/**
 * Standard or URL-safe base64, padding optional; null when not base64. By hand rather than with
 * `atob`: no intermediate strings, and Node's `atob` is slow enough to show in the benchmark.
 */
export function decodeBase64(s: string): string | null {
  const bytes = new Uint8Array((s.length * 3) >> 2);
  const n = base64Into(s, bytes);
  return n < 0 ? null : utf8.decode(bytes.subarray(0, n));
}

/** Decodes base64 into `bytes` (at least 3/4 of s.length long): the byte count, or -1 when not base64. */
function base64Into(s: string, bytes: Uint8Array): number {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 61) end--;
  if (end % 4 === 1) return -1;
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? BASE64_VALUE[c]! : -1;
    if (v < 0) return -1;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[o++] = (acc >> bits) & 0xff;
    }
  }
  return o;
}

export function decodeHex(s: string): string {
  const hex = s.replace(/0x|\\x|[\s,:]/gi, '');
  const bytes: number[] = [];
  for (let i = 0; i + 1 < hex.length; i += 2) bytes.push(Number.parseInt(hex.slice(i, i + 2), 16));
  return bytesToText(bytes);
}

/** One buffer for the bytes of the span being decoded: no allocation per candidate span. */
let scratch = new Uint8Array(1024);
function scratchFor(size: number): Uint8Array {
  if (scratch.length < size) scratch = new Uint8Array(Math.max(size, scratch.length * 2));
  return scratch;
}

/**
 * What keep() gets from decodeBase64 / decodeHex and accepts, or null — without the UTF-8
 * decoder when the bytes already give the answer: most base64- and hex-looking runs in ordinary
 * text (paths, identifiers, hashes) decode to binary noise. The decoded text has at most one
 * character per byte, and some bytes are sure to give a character of their own that looksTextual
 * does not count as printable: an ASCII control; a byte no UTF-8 sequence holds (C0, C1, F5–FF),
 * which the decoder replaces by U+FFFD; a continuation byte (80–BF) right after an ASCII byte or
 * at the start, likewise replaced. When such bytes alone exceed 15% the text cannot be 85%
 * printable. Bytes that are all ASCII are their own text.
 */
function bytesText(bytes: Uint8Array): string | null {
  if (bytes.length < MIN_DECODED) return null;
  let unprintable = 0;
  let ascii = true;
  let prev = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b >= 128) {
      ascii = false;
      if (b === 0xc0 || b === 0xc1 || b >= 0xf5 || (b < 0xc0 && prev < 128)) unprintable++;
    } else if ((b < 32 && b !== 9 && b !== 10 && b !== 13) || b === 127) unprintable++;
    prev = b;
  }
  if (unprintable * 100 > bytes.length * 15) return null;
  if (!ascii) return utf8.decode(bytes);
  let out = '';
  for (let i = 0; i < bytes.length; i += 1024)
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 1024) as unknown as number[]);
  return out;
}

function base64Text(s: string): string | null {
  const bytes = scratchFor((s.length * 3) >> 2);
  const n = base64Into(s, bytes);
  return n < 0 ? null : bytesText(bytes.subarray(0, n));
}

const NIBBLE = new Int8Array(128).fill(-1);
for (const c of '0123456789abcdef') NIBBLE[c.charCodeAt(0)] = Number.parseInt(c, 16);
for (const c of 'ABCDEF') NIBBLE[c.charCodeAt(0)] = Number.parseInt(c, 16);

/** decodeHex for a span found by HEX_RUN_RE (hex digits after an optional `0x`), through bytesText. */
function hexRunText(s: string): string | null {
  const from = s.charCodeAt(1) === 120 || s.charCodeAt(1) === 88 ? 2 : 0; // 0x / 0X
  const bytes = scratchFor((s.length - from) >> 1);
  let o = 0;
  for (let i = from; i + 1 < s.length; i += 2) {
    const hi = NIBBLE[s.charCodeAt(i)];
    const lo = NIBBLE[s.charCodeAt(i + 1)];
    if (hi === undefined || lo === undefined || hi < 0 || lo < 0) return decodeHex(s); // not a HEX_RUN_RE span
    bytes[o++] = (hi << 4) | lo;
  }
  return bytesText(bytes.subarray(0, o));
}

export function decodeUrl(s: string): string {
  // Runs of %XX become bytes decoded as UTF-8; `+` is a space in query strings.
  return s
    .replace(/(?:%[0-9a-fA-F]{2}){1,64}/g, (run) => {
      const bytes: number[] = [];
      for (let i = 0; i < run.length; i += 3) bytes.push(Number.parseInt(run.slice(i + 1, i + 3), 16));
      return bytesToText(bytes);
    })
    .replace(/\+/g, ' ');
}

export function decodeEscapes(s: string): string {
  return s.replace(
    /\\u\{([0-9a-fA-F]{1,6})\}|\\u([0-9a-fA-F]{4})|%u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})/g,
    (m, braced, u, pu, x) => {
      const cp = Number.parseInt(braced ?? u ?? pu ?? x, 16);
      return cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    },
  );
}

const HAS_URL = /%[0-9a-fA-F]{2}/;
const HAS_HTML = /&(?:#[xX]?[0-9a-fA-F]{1,7}|[a-zA-Z]{2,8});?/;
const HAS_ESC = /\\u\{?[0-9a-fA-F]{2,6}|%u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}/;

function decodeKind(kind: EncodingKind, s: string): string | null {
  switch (kind) {
    case 'url':
      return decodeUrl(s);
    case 'html':
      return decodeHtml(s);
    case 'unicode':
      return decodeEscapes(s);
    case 'base64':
      return base64Text(s);
    case 'hex':
      return hexRunText(s);
  }
}

function keep(out: EncodedSpan[], kind: EncodingKind, text: string, start: number, end: number): void {
  const raw = text.slice(start, end);
  const decoded = decodeKind(kind, raw);
  if (decoded !== null && decoded !== raw && looksTextual(decoded)) out.push({ kind, start, end, decoded });
}

/** Multi-token kinds: the span being grown, and how many plain tokens followed its last hit. */
interface Open {
  start: number;
  gap: number;
  /** End of the plain tokens after the last hit, while there are at most two of them. */
  tail: number;
}

const CONTEXT_TOKENS = 2;
/**
 * Hex and base64 runs inside a token, searched only in tokens longRuns says hold one (16 hex digits
 * or 20 base64 characters in a row): V8 tries these at every position of a shorter run, but a
 * token that is one long run (`aaaa…`) it matches natively at once (hand-written loops were 2–3%
 * faster on benign text and a third slower on such tokens).
 */
const BASE64_RUN_RE = /[A-Za-z0-9+/_-]{20,}={0,2}/g;
const HEX_RUN_RE = /(?:0x)?(?:[0-9a-fA-F]{2}){8,}/g;

/** A run of base64 characters at least this long is a blob worth recording, textual or not. */
export const BLOB_MIN = 256;
const BLOB_RUN = /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{256,}={0,2}/g;

/**
 * Encoded spans of `text`, in order of kind then position. When `blobs` is given, runs of at least
 * BLOB_MIN base64 characters are added to it (spans of `text`), decodable to text or not: found
 * here because only the rare token that long is searched, instead of a pattern over every text.
 */
export function findEncodedSpans(
  text: string,
  blobs?: Array<{ start: number; end: number }>,
  known?: Interest,
): EncodedSpan[] {
  const out: EncodedSpan[] = [];
  const open: Partial<Record<MultiKind, Open>> = {};
  let anyOpen = false;
  const close = (kind: MultiKind) => {
    const o = open[kind];
    if (o) keep(out, kind, text, o.start, o.tail);
    delete open[kind];
    anyOpen = open.url !== undefined || open.html !== undefined || open.unicode !== undefined;
  };
  // Starts of the last two tokens, for the context before a span.
  let before1 = -1;
  let before2 = -1;
  const n = text.length;
  // The positions that could matter: noted by the literal automaton's pass over `text` when the
  // engine has one (known), else found here.
  const interest = known ?? new InterestScanner(text);
  let i = 0;
  while (i < n) {
    if (!anyOpen) {
      // Nothing open: the tokens before the next that could matter only shift the context.
      const p = interest.next(i);
      if (p === n) break;
      const piece = pieceStart(text, i, p);
      if (piece > i) {
        // By index, not destructured: destructuring an array walks an iterator object.
        const starts = lastTwoStarts(text, i, piece);
        if (starts[1] >= 0) {
          before1 = starts[0];
          before2 = starts[1];
        } else if (starts[0] >= 0) {
          before2 = before1;
          before1 = starts[0];
        }
        i = piece;
      }
    }
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    // One token, by hand: most tokens are short words with none of % & \ and cost only this loop.
    const s = i;
    const e = tokenEnd(text, s, Math.min(n, s + MAX_TOKEN));
    const marks = tokenMarks;
    i = e;
    const len = e - s;
    // A long token matters to the hex and base64 searches only when it holds a run of hex digits
    // (16, HEX_RUN_RE) or of base64 characters (20, BASE64_RUN_RE) long enough: known here from
    // one loop over the token, so that paths and identifiers skip the slice and the searches.
    const runs = len >= 16 ? longRuns(text, s, e) : 0;
    if (marks === 0 && runs === 0) {
      if (anyOpen) for (let m = 0; m < MULTI.length; m++) plainToken(open, MULTI[m]!, e, close);
    } else {
      const t = text.slice(s, e);
      const url = (marks & 1) !== 0 && HAS_URL.test(t);
      const has = {
        url,
        html: (marks & 2) !== 0 && HAS_HTML.test(t),
        unicode: (marks & 5) !== 0 && HAS_ESC.test(t),
      };
      // Indexed loops over MULTI here: for…of left an iterator and a result object per token.
      for (let m = 0; m < MULTI.length; m++) {
        const kind = MULTI[m]!;
        const o = open[kind];
        if (!has[kind]) plainToken(open, kind, e, close);
        else if (o) {
          o.tail = e;
          o.gap = 0;
        } else {
          open[kind] = { start: before2 >= 0 ? before2 : before1 >= 0 ? before1 : s, gap: 0, tail: e };
          anyOpen = true;
        }
      }
      if (runs & HEX_RUN && !has.url && !has.unicode) {
        HEX_RUN_RE.lastIndex = 0;
        for (let h = HEX_RUN_RE.exec(t); h; h = HEX_RUN_RE.exec(t))
          keep(out, 'hex', text, s + h.index, s + h.index + h[0].length);
      }
      if (blobs && len >= BLOB_MIN) {
        BLOB_RUN.lastIndex = 0;
        for (let b = BLOB_RUN.exec(t); b; b = BLOB_RUN.exec(t)) {
          const start = s + b.index;
          const last = blobs[blobs.length - 1];
          // A run longer than a token continues in the next one: one blob, not several.
          if (last && last.end === start) last.end = start + b[0].length;
          else blobs.push({ start, end: start + b[0].length });
        }
      }
      if (runs & BASE64_RUN && !has.url && !has.unicode) {
        BASE64_RUN_RE.lastIndex = 0;
        for (let b = BASE64_RUN_RE.exec(t); b; b = BASE64_RUN_RE.exec(t))
          if (!/^(?:0x)?[0-9a-fA-F]+$/.test(b[0]))
            keep(out, 'base64', text, s + b.index, s + b.index + b[0].length);
      }
    }
    before2 = before1;
    before1 = s;
  }
  for (let m = 0; m < MULTI.length; m++) close(MULTI[m]!);
  return out;
}

/** What the last tokenEnd call saw: bit 1 `%`, bit 2 `&`, bit 4 `\\`. */
let tokenMarks = 0;

/**
 * The end of the token starting at `s` (at most `stop`). A small function of its own: the loop
 * every character goes through stays tight enough for the optimiser.
 */
function tokenEnd(text: string, s: number, stop: number): number {
  let marks = 0;
  let i = s;
  for (; i < stop; i++) {
    const c = text.charCodeAt(i);
    // Printable ASCII other than % & \ first: nearly every character, one comparison pair.
    if (c > 38 && c < 127 && c !== 92) continue;
    if (isSpace(c)) break;
    if (c === 37) marks |= 1;
    else if (c === 38) marks |= 2;
    else if (c === 92) marks |= 4;
  }
  tokenMarks = marks;
  return i;
}

/** A token without this kind's encoding: counts toward closing an open span of the kind. */
function plainToken(
  open: Partial<Record<MultiKind, Open>>,
  kind: MultiKind,
  end: number,
  close: (k: MultiKind) => void,
) {
  const o = open[kind];
  if (!o) return;
  if (++o.gap > CONTEXT_TOKENS) close(kind);
  else o.tail = end;
}

type MultiKind = 'url' | 'html' | 'unicode';
const MULTI: readonly MultiKind[] = ['url', 'html', 'unicode'];
