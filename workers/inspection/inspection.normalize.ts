/**
 * Normalisation before matching, with a map back to the original text.
 *
 * One pass over the input, a cluster at a time (a character and the combining marks after it):
 *   1. zero-width, bidi-control and tag characters are dropped and reported as signals (with
 *      their spans in the original) — they hide text from people, not from us;
 *   2. the cluster is put in Unicode NFKC (fullwidth letters, ligatures, compatibility forms,
 *      composed accents); NFKC is applied per cluster, not over the whole string, so each output
 *      character knows which input characters it came from;
 *   3. confusables (Cyrillic/Greek letters that look Latin, and a few symbols) are folded to their
 *      Latin look-alike. A word that mixes Latin with such letters is reported as `homoglyph_mix`
 *      (a whole Cyrillic or Greek word is ordinary text and is not);
 *   4. a character carrying five or more stacked combining diacritics is reported as
 *      `combining_marks` (Zalgo text).
 *
 * For output character i the map gives the original span it came from, so a match over output
 * [s, e) is the original [start(s), end(e-1)) (originalSpan). Work and memory are linear.
 *
 * The map is kept as pieces, not per character: a run of ASCII copied as is is one piece (output
 * o ↦ input from + (o − out)), a cluster is one piece (each of its output characters ↦ the whole
 * cluster). Text that is mostly ASCII with a few accents — nearly all text — then costs a handful
 * of pieces instead of two integers written per character; `originalSpan` finds a piece by binary
 * search, and only for the few offsets that findings carry.
 */
import { expand, MapBuilder, type OffsetMap, originalOf } from './inspection.offsets.js';
import type { Signal } from './inspection.schema.js';

export interface SignalHit {
  signal: Signal;
  start: number;
  end: number;
}

export interface Normalized {
  text: string;
  /**
   * The map back to the original (inspection.offsets.ts); null when the text is unchanged (pure
   * ASCII). A plain field: accessors on this per-scan object cost the scan several µs per KB.
   */
  map: OffsetMap | null;
  signals: SignalHit[];
}

function normalized(text: string, map: OffsetMap | null, signals: SignalHit[]): Normalized {
  return { text, map, signals };
}

/**
 * Original start/end of each output character (text.length + 1 entries, the last one for the end
 * of the text); null when the text is unchanged. For tests and tools: the engine maps only the
 * offsets its findings carry, with originalSpan.
 */
export function characterOffsets(norm: Normalized): { start: Int32Array; end: Int32Array } | null {
  return norm.map ? expand(norm.map, norm.text.length) : null;
}

/** Look-alikes of Latin letters (Cyrillic, Greek, Armenian, Latin small capitals, symbols). */
const CONFUSABLES: Record<string, string> = {
  а: 'a',
  в: 'b',
  е: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  і: 'i',
  ј: 'j',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  ү: 'y',
  һ: 'h',
  ӏ: 'l',
  ɡ: 'g',
  ɑ: 'a',
  ο: 'o',
  А: 'A',
  В: 'B',
  Е: 'E',
  К: 'K',
  М: 'M',
  Н: 'H',
  О: 'O',
  Р: 'P',
  С: 'C',
  Т: 'T',
  Х: 'X',
  Ѕ: 'S',
  І: 'I',
  Ј: 'J',
  Ү: 'Y',
  Ԁ: 'D',
  Ԛ: 'Q',
  Ԝ: 'W',
  Α: 'A',
  Β: 'B',
  Ε: 'E',
  Ζ: 'Z',
  Η: 'H',
  Ι: 'I',
  Κ: 'K',
  Μ: 'M',
  Ν: 'N',
  Ο: 'O',
  Ρ: 'P',
  Τ: 'T',
  Υ: 'Y',
  Χ: 'X',
  α: 'a',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  ε: 'e',
  ց: 'g',
  օ: 'o',
  ս: 'u',
  ԍ: 'G',
  ᴀ: 'A',
  ʙ: 'B',
  ᴄ: 'C',
  ᴅ: 'D',
  ᴇ: 'E',
  ɢ: 'G',
  ʜ: 'H',
  ɪ: 'I',
  ᴊ: 'J',
  ᴋ: 'K',
  ʟ: 'L',
  ᴍ: 'M',
  ɴ: 'N',
  ᴏ: 'O',
  ᴘ: 'P',
  ʀ: 'R',
  ᴛ: 'T',
  ᴜ: 'U',
  ᴠ: 'V',
  ᴡ: 'W',
  ʏ: 'Y',
  ᴢ: 'Z',
  ı: 'i',
  ȷ: 'j',
  '‚': ',',
  '٫': ',',
  '‐': '-',
  '‑': '-',
  '‒': '-',
  '–': '-',
  '—': '-',
  '−': '-',
  '⁄': '/',
  '∕': '/',
  '／': '/',
  '∖': '\\',
  '＼': '\\',
  ǀ: '|',
  '∣': '|',
  ː: ':',
  '꞉': ':',
  '׃': ':',
  ǃ: '!',
};

function invisibleSignal(cp: number): Signal | null {
  if (cp === 0x200b || cp === 0x200c || cp === 0x200d || cp === 0x2060 || cp === 0xfeff) return 'zero_width';
  if (cp === 0x00ad || cp === 0x180e || cp === 0x2061 || cp === 0x2062 || cp === 0x2063 || cp === 0x2064)
    return 'zero_width';
  if (cp === 0x200e || cp === 0x200f || cp === 0x061c) return 'bidi';
  if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) return 'bidi';
  if (cp >= 0xe0000 && cp <= 0xe007f) return 'tag_chars';
  return null;
}

const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
/** Hebrew, Arabic, Syriac, Thaana, N'Ko…, and the Indic scripts: where ZWJ/ZWNJ and LRM/RLM are ordinary. */
const isJoiningScript = (cp: number) => (cp >= 0x0590 && cp <= 0x08ff) || (cp >= 0x0900 && cp <= 0x0dff);

/**
 * Invisible characters with a legitimate use, dropped from the text but not reported: a byte-order
 * mark at the start, ZWJ in emoji sequences (👨‍👩‍👧), ZWJ/ZWNJ and direction marks next to
 * scripts that need them, and tag characters right after 🏴 (the England/Scotland/Wales flags).
 */
function benignInvisible(cp: number, at: number, prev: number, next: number, inFlag: boolean): boolean {
  if (cp === 0xfeff) return at === 0;
  if (cp === 0x200d)
    return PICTOGRAPHIC.test(String.fromCodePoint(prev)) || isJoiningScript(prev) || isJoiningScript(next);
  if (cp === 0x200c || cp === 0x200e || cp === 0x200f || cp === 0x061c)
    return isJoiningScript(prev) || isJoiningScript(next);
  if (cp >= 0xe0000 && cp <= 0xe007f) return inFlag;
  return false;
}

/**
 * Signal hits kept per text: the engine reports at most a few findings per rule anyway, and text
 * made of a million hidden characters must not become a million objects.
 */
const MAX_SIGNALS = 256;

/** Combining diacritics (U+0300–U+036F) stacked on one character from which it is Zalgo text. */
const MARK_FLOOD = 5;

const isMark = (cp: number) =>
  (cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x1ab0 && cp <= 0x1aff) || (cp >= 0x20d0 && cp <= 0x20ff);
const isAsciiLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** Tracks the current word to report words that mix Latin letters and folded look-alikes. */
class WordTracker {
  start = -1;
  end = -1;
  latin = false;
  folded = false;
  private readonly signals: SignalHit[];
  constructor(signals: SignalHit[]) {
    this.signals = signals;
  }
  letter(origStart: number, origEnd: number, wasFolded: boolean): void {
    if (this.start < 0) this.start = origStart;
    this.end = origEnd;
    if (wasFolded) this.folded = true;
    else this.latin = true;
  }
  close(): void {
    if (this.start >= 0 && this.latin && this.folded)
      if (this.signals.length < MAX_SIGNALS)
        this.signals.push({ signal: 'homoglyph_mix', start: this.start, end: this.end });
    this.start = -1;
    this.latin = false;
    this.folded = false;
  }
}

/** What a normalised character is to the homoglyph check. */
const FOLDED_LATIN = 0; // a look-alike folded to a Latin letter
const LATIN = 1;
const LETTER = 2; // a letter of another script
const OTHER = 3; // not a letter: ends a word
type Folded = Array<[string, number]>;

function foldCluster(cluster: string): Folded {
  const out: Folded = [];
  for (const ch of cluster.normalize('NFKC')) {
    const folded = CONFUSABLES[ch];
    if (folded !== undefined) out.push([folded, isAsciiLetter(folded.charCodeAt(0)) ? FOLDED_LATIN : OTHER]);
    else out.push([ch, isAsciiLetter(ch.charCodeAt(0)) ? LATIN : /\p{L}/u.test(ch) ? LETTER : OTHER]);
  }
  return out;
}

/**
 * A lone code point always normalises and folds the same way: remember it (bounded), so text in
 * another script costs a map lookup per character, not an NFKC call.
 */
const foldCache = new Map<number, Folded>();
function foldedOf(cp: number): Folded {
  let hit = foldCache.get(cp);
  if (!hit) {
    hit = foldCluster(String.fromCodePoint(cp));
    if (foldCache.size < 8192) foldCache.set(cp, hit);
  }
  return hit;
}

/**
 * The homoglyph check over a run of ASCII [from, to): only the word open at its start (which may
 * hold folded look-alikes) and the word open at its end matter — the words wholly inside the run
 * are plain Latin and can never mix. So the run costs two short loops, not a call per character.
 */
function asciiWords(input: string, from: number, to: number, words: WordTracker): void {
  let a = from;
  while (a < to && isAsciiLetter(input.charCodeAt(a))) a++;
  if (a > from) words.letter(from, a, false);
  if (a === to) return;
  words.close();
  let b = to;
  while (b > a && isAsciiLetter(input.charCodeAt(b - 1))) b--;
  if (b < to) words.letter(b, to, false);
}

// Without the `u` flag: a UTF-16 unit scan, several times faster, and surrogates are ≥ 0x80 too.
const NON_ASCII = /[^\0-\x7f]/;
const NEXT_NON_ASCII = /[^\0-\x7f]/g;

/**
 * The end of the run of ASCII starting at i. A short run by hand; a longer one by a regular
 * expression, whose native loop is several times faster than a loop here over long ASCII runs —
 * which is where a scan of ordinary text with a few accents spends its normalisation time.
 */
function asciiRunEnd(input: string, i: number): number {
  const stop = Math.min(input.length, i + 16);
  let k = i;
  while (k < stop && input.charCodeAt(k) < 128) k++;
  if (k < stop || k === input.length) return k;
  NEXT_NON_ASCII.lastIndex = k;
  return NEXT_NON_ASCII.exec(input)?.index ?? input.length;
}

export function normalize(input: string): Normalized {
  // Pure ASCII holds no invisible character, mark or look-alike: it is already normal.
  if (!NON_ASCII.test(input)) return normalized(input, null, []);
  const parts: string[] = [];
  const map = new MapBuilder();
  const signals: SignalHit[] = [];
  const words = new WordTracker(signals);
  const emit = (s: string, from: number, to: number) => {
    parts.push(s);
    map.span(from, to, s.length);
  };
  let i = 0;
  let prev = 0;
  let inFlag = false;
  while (i < input.length) {
    const cp = input.codePointAt(i)!;
    const len = cp > 0xffff ? 2 : 1;
    const sig = invisibleSignal(cp);
    if (sig) {
      const next = i + len < input.length ? input.codePointAt(i + len)! : 0;
      if (!benignInvisible(cp, i, prev, next, inFlag)) {
        const last = signals[signals.length - 1];
        if (last && last.signal === sig && last.end === i) last.end = i + len;
        else if (signals.length < MAX_SIGNALS) signals.push({ signal: sig, start: i, end: i + len });
        // Tag characters spell ASCII invisibly ("ASCII smuggling"): scan what they spell.
        if (sig === 'tag_chars' && cp >= 0xe0020 && cp <= 0xe007e)
          emit(String.fromCharCode(cp - 0xe0000), i, i + len);
      }
      i += len;
      continue;
    }
    inFlag = cp === 0x1f3f4;
    prev = cp;
    if (cp < 128) {
      // A run of ASCII is copied as one part; its last character stays for the cluster path
      // when a combining mark follows it.
      let k = asciiRunEnd(input, i);
      if (k < input.length && isMark(input.charCodeAt(k))) k--;
      if (k > i) {
        asciiWords(input, i, k, words);
        map.linear(i, k - i);
        parts.push(input.slice(i, k));
        prev = input.charCodeAt(k - 1);
        inFlag = false;
        i = k;
        continue;
      }
    }
    let j = i + len;
    // Stacks of combining diacritics (Zalgo text): a signal here, where clusters are walked
    // anyway, rather than a pattern run over every text.
    let run = 0;
    let longest = 0;
    while (j < input.length && isMark(input.codePointAt(j)!)) {
      const mark = input.codePointAt(j)!;
      run = mark >= 0x0300 && mark <= 0x036f ? run + 1 : 0;
      longest = Math.max(longest, run);
      j += mark > 0xffff ? 2 : 1;
    }
    if (longest >= MARK_FLOOD && signals.length < MAX_SIGNALS)
      signals.push({ signal: 'combining_marks', start: i, end: j });
    for (const [ch, kind] of j === i + len ? foldedOf(cp) : foldCluster(input.slice(i, j))) {
      if (kind === FOLDED_LATIN) words.letter(i, j, true);
      else if (kind === LATIN) words.letter(i, j, false);
      else if (kind === OTHER) words.close();
      emit(ch, i, j);
    }
    i = j;
  }
  words.close();
  map.span(input.length, input.length, 1); // the end of the text
  return normalized(parts.join(''), map.done(), signals);
}

/** The original span of output span [s, e). */
export function originalSpan(norm: Normalized, s: number, e: number): { start: number; end: number } {
  const { map } = norm;
  if (!map) return { start: s, end: e };
  const first = originalOf(map, s);
  return { start: first.start, end: e > s ? originalOf(map, e - 1).end : first.start };
}
