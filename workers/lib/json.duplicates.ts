/**
 * Does JSON text spell one object key twice (pure, no I/O)?
 *
 * Why: `JSON.parse` keeps the last of two equal keys, but parsers disagree (some keep the first,
 * some refuse), so `{"model":"a","model":"b"}` may run `a` at a provider the gateway read as `b`.
 * Where the gateway forwards the raw text (a batch input file's lines: llm.batch-models.ts), such
 * text cannot be read one way only, and is refused as unreadable rather than judged on one reading.
 *
 * Keys compare as parsed (`"\u006dodel"` is `"model"`). Only for text `JSON.parse` accepted: it
 * does not validate. Linear: one pass, each key decoded once.
 */
export function hasDuplicateKey(text: string): boolean {
  // One entry per open container: the keys seen (an object) or null (an array).
  const open: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      const end = stringEnd(text, i);
      const keys = open[open.length - 1];
      if (keys && expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return true;
        keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (ch === 0x7b /* { */) {
      open.push(new Set());
      expectKey = true;
    } else if (ch === 0x5b /* [ */) {
      open.push(null);
      expectKey = false;
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      open.pop();
      expectKey = false;
    } else if (ch === 0x2c /* , */) {
      expectKey = open[open.length - 1] != null;
    }
  }
  return false;
}

/** The index of the quote closing the string opened at `start`. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x5c /* \ */) i++;
    else if (ch === 0x22) return i;
  }
  return text.length - 1;
}
