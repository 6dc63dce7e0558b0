/**
 * Name normalisation for MATCHING only. A governed name (tool, `resource:…`, `prompt:…`) and the
 * literal parts of every rule's glob are both reduced to one comparable form, so `Delete_all`,
 * `d\u0435lete_all` (Cyrillic е) and `delete\u200b_all` (zero-width space) all hit a `delete_*`
 * rule. What is forwarded upstream, audited and shown is always the ORIGINAL name: an upstream
 * that names its tools `Delete_all` must still receive `Delete_all`.
 *
 * The form, in order:
 *   1. invisible characters removed: zero-width and other default-ignorable code points, bidi
 *      embeddings, overrides, isolates and marks (they change nothing a reader sees);
 *   2. NFKC: compatibility forms become their plain letters (fullwidth `ｄｅｌｅｔｅ`, ligatures,
 *      mathematical alphanumerics, the Kelvin sign);
 *   3. common confusables folded to the Latin letter they imitate (Cyrillic and Greek look-alikes,
 *      dotless i, script g — a small table, not Unicode's full confusables list);
 *   4. lower case, then the confusables folded again (a capital whose lower case is a look-alike).
 *
 * Pure and linear: each step is one pass over the name. Pure-ASCII names, nearly all of them, skip
 * straight to lower case.
 */

/** Default-ignorable code points and bidi controls (U+E0000–E03FF: tags, variation selectors). */
// Built from a string: a regex literal listing a combining code point (U+034F) trips the
// misleading-character-class lint, but each of these is meant to be removed on its own.
const INVISIBLE = new RegExp(
  '[\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u202A-\\u202E' +
    '\\u2060-\\u206F\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF0-\\uFFF8]|\\uDB40[\\uDC00-\\uDFFF]',
  'g',
);

/** Printable ASCII: no invisible, compatibility or look-alike characters to deal with. */
const ASCII_ONLY = /^[ -~]*$/;

/** Look-alike → the Latin letter it imitates. Upper and lower case, applied before and after lower-casing. */
// biome-ignore format: a table reads best in rows
const CONFUSABLES: ReadonlyMap<string, string> = new Map(
  Object.entries({
    // Cyrillic capitals and small letters.
    А: 'A', В: 'B', Е: 'E', К: 'K', М: 'M', Н: 'H', О: 'O', Р: 'P', С: 'C', Т: 'T', Х: 'X',
    Ѕ: 'S', І: 'I', Ј: 'J', Ү: 'Y', Ӏ: 'I', Ԛ: 'Q', Ԝ: 'W',
    а: 'a', в: 'b', е: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y',
    х: 'x', ѕ: 's', і: 'i', ј: 'j', һ: 'h', ԁ: 'd', ԛ: 'q', ԝ: 'w', ӏ: 'l', ү: 'y', ѵ: 'v',
    // Greek capitals and small letters.
    Α: 'A', Β: 'B', Ε: 'E', Ζ: 'Z', Η: 'H', Ι: 'I', Κ: 'K', Μ: 'M', Ν: 'N', Ο: 'O', Ρ: 'P',
    Τ: 'T', Υ: 'Y', Χ: 'X',
    α: 'a', ε: 'e', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', γ: 'y',
    ϲ: 'c', ϳ: 'j',
    // Latin look-alikes outside ASCII that NFKC keeps.
    ı: 'i', ɡ: 'g', ɑ: 'a', ʏ: 'y',
  }),
);

function foldConfusables(text: string): string {
  let out = '';
  for (const char of text) out += CONFUSABLES.get(char) ?? char;
  return out;
}

/** The comparable form of a governed name (see the file comment). */
export function normalizeName(name: string): string {
  if (ASCII_ONLY.test(name)) return name.toLowerCase();
  const plain = name.replace(INVISIBLE, '').normalize('NFKC');
  return foldConfusables(foldConfusables(plain).toLowerCase());
}

const WILDCARDS = /[*?]/;

/**
 * The comparable form of a rule's glob: each literal run between wildcards normalised like a
 * name, the wildcards kept. A literal run whose normal form contains `*` or `?` (fullwidth `＊`
 * folds to `*`) keeps that character as `?` — the glob language has no escape, and `?` matches
 * the one character the name's own `＊` folds to, without turning a literal into "anything".
 */
export function normalizePattern(glob: string): string {
  if (ASCII_ONLY.test(glob)) return glob.toLowerCase();
  let out = '';
  let literal = '';
  for (const char of glob) {
    if (char === '*' || char === '?') {
      out += normalizeLiteral(literal) + char;
      literal = '';
    } else {
      literal += char;
    }
  }
  return out + normalizeLiteral(literal);
}

function normalizeLiteral(literal: string): string {
  if (literal === '') return '';
  const normal = normalizeName(literal);
  return WILDCARDS.test(normal) ? normal.replace(/[*?]/g, '?') : normal;
}
