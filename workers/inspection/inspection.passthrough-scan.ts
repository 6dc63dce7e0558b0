/**
 * How a passthrough answer's strings are scanned (inspection.passthrough-answer.ts): linear in the
 * answer and with a bounded number of scans.
 *
 * A scan has a fixed cost before it reads a character (about 10 µs: docs/detections.md), and a
 * JSONL body of 4 MiB can hold 400,000 short strings — 1.5 s scanned one by one. So strings are
 * scanned together, as a known JSON answer's texts are (inspection.streams.ts `whole`): joined by
 * a blank line in batches of up to BATCH_CHARS, each finding given back to the string it starts in.
 * A scan reports at most `maxFindingsPerRule` findings of a rule, and a batch must not hide the
 * strings past that cap (their values would go unmasked): a batch in which a rule found
 * SATURATED or more is scanned again string by string, each with the cap of its own, as scanJson
 * scans them. A text body is scanned whole (a match may span lines: a PEM block) and, when a rule
 * saturates it, line by line too. Pure.
 */
import { DEFAULT_LIMITS, type Engine, type Finding } from './inspection.engine';
import { childPath } from './inspection.json';
import type { Where } from './inspection.schema';
import { textAt } from './inspection.streams';

/** Characters of strings scanned together. */
export const BATCH_CHARS = 64 * 1024;
/** A rule with this many findings in one scan may have been cut by the cap: scanned again, finer. */
export const SATURATED = Math.floor(DEFAULT_LIMITS.maxFindingsPerRule / 2);
const SEPARATOR = '\n\n';

/** Whether some rule found SATURATED or more in one scan. */
function saturated(found: readonly Finding[]): boolean {
  if (found.length < SATURATED) return false;
  const counts = new Map<string, number>();
  for (const f of found) {
    const n = (counts.get(f.ruleId) ?? 0) + 1;
    if (n >= SATURATED) return true;
    counts.set(f.ruleId, n);
  }
  return false;
}

/**
 * Each text's findings (offsets within it), the texts scanned in batches (module comment). `where`:
 * `completion` for an LLM answer; an upstream's error answer is scanned as what its protocol's
 * answers are (inspection.error-answer.ts: `result` for MCP and A2A).
 */
export function scanTexts(
  engine: Engine,
  texts: readonly string[],
  where: Where = 'completion',
): Finding[][] {
  const out: Finding[][] = texts.map(() => []);
  const one = (k: number) => {
    if (texts[k]!.length > 0) out[k] = engine.scan(texts[k]!, where);
  };
  let i = 0;
  while (i < texts.length) {
    const starts: number[] = [];
    let at = 0;
    let j = i;
    while (j < texts.length && (j === i || at + texts[j]!.length <= BATCH_CHARS)) {
      starts.push(at);
      at += texts[j]!.length + SEPARATOR.length;
      j++;
    }
    if (j - i === 1) one(i);
    else {
      const found = engine.scan(texts.slice(i, j).join(SEPARATOR), where);
      if (saturated(found)) for (let k = i; k < j; k++) one(k);
      else
        for (const f of found) {
          const k = textAt(starts, f.start);
          // A span the batch let run past its string's end (into the separator) ends with it.
          const length = texts[i + k]!.length;
          out[i + k]!.push({ ...f, start: f.start - starts[k]!, end: Math.min(f.end - starts[k]!, length) });
        }
    }
    i = j;
  }
  return out;
}

/** Where each collected string is: its container's path and its key (the path is built when found). */
export interface Collected {
  texts: string[];
  parents: string[];
  /** The key or index in the parent; a string key prefixed `~` is the object key itself. */
  keys: Array<string | number>;
}

export function collected(): Collected {
  return { texts: [], parents: [], keys: [] };
}

/** The JSON path of collected string `k` (`~key` after a key's own path). */
export function pathOf(c: Collected, k: number): string {
  const key = c.keys[k]!;
  if (typeof key === 'string' && key.startsWith('~')) return `${childPath(c.parents[k]!, key.slice(1))}~key`;
  return c.parents[k] === '' ? '$' : childPath(c.parents[k]!, key);
}

/**
 * Every string of a JSON value — and every object key of 8 characters or more, as scanJson scans
 * keys — added to `into` (a container's own strings before those of the containers in it).
 * Iterative, no depth or node bound: what it walks is bounded by the answer cap. Paths are built
 * only for containers and for the strings something was found in: for 4 MiB of short JSONL lines
 * (460,000 strings) the whole inspection measured 0.5 s in plain Node (1.6 s scanned and pathed one
 * by one), a 4 MiB text 0.07 s, 4 MiB of batch results of 1 KB texts 0.19 s.
 */
export function collectStrings(value: unknown, into: Collected): void {
  if (typeof value === 'string') {
    into.texts.push(value);
    into.parents.push('');
    into.keys.push('');
    return;
  }
  const stack: Array<[unknown, string]> = [[value, '$']];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const item = v[i];
        if (typeof item === 'string') add(into, item, path, i);
      }
      for (let i = v.length - 1; i >= 0; i--) if (isContainer(v[i])) stack.push([v[i], childPath(path, i)]);
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      for (const [key, child] of entries) {
        if (key.length >= 8) add(into, key, path, `~${key}`);
        if (typeof child === 'string') add(into, child, path, key);
      }
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        if (isContainer(child)) stack.push([child, childPath(path, key)]);
      }
    }
  }
}

const isContainer = (v: unknown) => v !== null && typeof v === 'object';

function add(into: Collected, text: string, parent: string, key: string | number): void {
  into.texts.push(text);
  into.parents.push(parent);
  into.keys.push(key);
}

/** Every string of a JSON value scanned as `where`, each finding with its string's JSON path. */
export function scanEveryString(engine: Engine, value: unknown, where: Where = 'completion'): Finding[] {
  const into = collected();
  collectStrings(value, into);
  return scanTexts(engine, into.texts, where).flatMap((list, k) =>
    list.map((f) => ({ ...f, location: pathOf(into, k) })),
  );
}

/**
 * The findings of several JSON values (a JSONL body's lines) by value index, their strings scanned
 * together (batches may cross values: one scan per BATCH_CHARS, however short the lines).
 */
export function scanValues(
  engine: Engine,
  values: readonly unknown[],
  where: Where = 'completion',
): Map<number, Finding[]> {
  const into = collected();
  const owner: number[] = [];
  values.forEach((value, i) => {
    if (value === undefined) return;
    collectStrings(value, into);
    while (owner.length < into.texts.length) owner.push(i);
  });
  const out = new Map<number, Finding[]>();
  scanTexts(engine, into.texts, where).forEach((list, k) => {
    if (list.length === 0) return;
    const i = owner[k]!;
    const mine = out.get(i) ?? [];
    for (const f of list) mine.push({ ...f, location: pathOf(into, k) });
    out.set(i, mine);
  });
  return out;
}

/**
 * A text body's findings (offsets in the whole text): scanned whole, and — when a rule saturated
 * that scan — line by line too, so that no line's values hide behind the cap (duplicates dropped).
 */
export function scanWholeText(
  engine: Engine,
  text: string,
  lines: readonly string[],
  where: Where = 'completion',
): Finding[] {
  const found = engine.scan(text, where);
  if (!saturated(found)) return found;
  const starts = lineStarts(lines);
  const seen = new Set(found.map((f) => `${f.ruleId}:${f.start}:${f.end}`));
  const out = [...found];
  scanTexts(engine, lines, where).forEach((list, k) => {
    for (const f of list) {
      const at = { ...f, start: f.start + starts[k]!, end: f.end + starts[k]! };
      const id = `${at.ruleId}:${at.start}:${at.end}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(at);
    }
  });
  return out.sort((a, b) => a.start - b.start);
}

/** Where each line starts in the text the lines were split from (by '\n'). */
export function lineStarts(lines: readonly string[]): number[] {
  const starts: number[] = [];
  let at = 0;
  for (const line of lines) {
    starts.push(at);
    at += line.length + 1;
  }
  return starts;
}

/** The 1-based line of `offset`, given the lines' starts. */
export function lineOf(starts: readonly number[], offset: number): number {
  return textAt(starts, offset) + 1;
}
