/**
 * Redaction with typed, stable placeholders: the values found in a request are replaced by
 * `[EMAIL_1]`, `[CARD_1]`… before the request leaves, and the answer's placeholders are restored
 * (inspection.unmask.ts). A session spans one request: the same value gets the same placeholder
 * in every message of it, and the mapping (placeholder → original) lives only as long as the
 * request. Never persist or log a session; it holds the very values redaction protects.
 *
 * Overlapping findings are merged into one span (a JWT inside a connection string is one secret);
 * the merged span takes the type of its most severe finding.
 */
import type { Finding } from './inspection.engine.js';
import { childPath } from './inspection.json.js';
import { SEVERITY_RANK } from './inspection.schema.js';

export interface RedactionSession {
  /** Placeholder → original value. */
  readonly mapping: Map<string, string>;
  /** `${type}\0${value}` → placeholder. */
  readonly byValue: Map<string, string>;
  readonly counters: Map<string, number>;
}

export function createRedactionSession(): RedactionSession {
  return { mapping: new Map(), byValue: new Map(), counters: new Map() };
}

export interface Redacted {
  text: string;
  /** The session's whole mapping so far (placeholder → original). */
  mapping: ReadonlyMap<string, string>;
  /** How many spans this call replaced. */
  replaced: number;
}

type Span = Pick<Finding, 'start' | 'end' | 'severity' | 'placeholder'>;

function mergeSpans(findings: readonly Span[], length: number): Span[] {
  const sorted = findings
    .filter((f) => f.end > f.start && f.start >= 0 && f.end <= length)
    .sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Span[] = [];
  for (const f of sorted) {
    const last = merged[merged.length - 1];
    if (last && f.start < last.end) {
      const worse = SEVERITY_RANK[f.severity] > SEVERITY_RANK[last.severity];
      merged[merged.length - 1] = {
        start: last.start,
        end: Math.max(last.end, f.end),
        severity: worse ? f.severity : last.severity,
        placeholder: worse ? f.placeholder : last.placeholder,
      };
    } else merged.push({ ...f });
  }
  return merged;
}

function placeholderFor(session: RedactionSession, type: string, value: string, text: string): string {
  const key = `${type}\0${value}`;
  const known = session.byValue.get(key);
  if (known) return known;
  let n = session.counters.get(type) ?? 0;
  let placeholder: string;
  // Skip numbers the text already spells, or the answer could not tell ours from theirs.
  do placeholder = `[${type}_${++n}]`;
  while (text.includes(placeholder) || session.mapping.has(placeholder));
  session.counters.set(type, n);
  session.byValue.set(key, placeholder);
  session.mapping.set(placeholder, value);
  return placeholder;
}

/** One replacement of a redaction: `text.slice(start, end)` becomes `placeholder`. */
export interface RedactEdit {
  start: number;
  end: number;
  placeholder: string;
}

/** The replacements `redact` makes in `text`, in order and not overlapping (their placeholders taken from the session). */
export function redactEdits(
  text: string,
  findings: readonly Span[],
  session: RedactionSession = createRedactionSession(),
): RedactEdit[] {
  const edits: RedactEdit[] = [];
  for (const span of mergeSpans(findings, text.length)) {
    // A pattern may take the separator after a value (a card's trailing space): the placeholder
    // replaces the value only, so the text around it reads the same.
    let { start, end } = span;
    while (end > start && /\s/.test(text[end - 1]!)) end--;
    while (start < end && /\s/.test(text[start]!)) start++;
    if (end === start) continue;
    edits.push({
      start,
      end,
      placeholder: placeholderFor(session, span.placeholder, text.slice(start, end), text),
    });
  }
  return edits;
}

/** Replaces every finding's span in `text` with its placeholder. */
export function redact(
  text: string,
  findings: readonly Span[],
  session: RedactionSession = createRedactionSession(),
): Redacted {
  const spans = mergeSpans(findings, text.length);
  const parts: string[] = [];
  let at = 0;
  for (const edit of redactEdits(text, spans, session)) {
    parts.push(text.slice(at, edit.start), edit.placeholder);
    at = edit.end;
  }
  parts.push(text.slice(at));
  return { text: parts.join(''), mapping: session.mapping, replaced: spans.length };
}

/**
 * Redacts a JSON value from scanJson findings (each with its `location`): returns a copy with
 * the strings at those locations redacted. Findings in keys (`~key`) are not rewritten — a key
 * is structure, not data — the caller decides whether such a finding blocks instead.
 */
export function redactJson(
  value: unknown,
  findings: readonly (Span & { location?: string })[],
  session: RedactionSession = createRedactionSession(),
): unknown {
  const byPath = new Map<string, Span[]>();
  for (const f of findings) if (f.location) byPath.set(f.location, [...(byPath.get(f.location) ?? []), f]);
  if (!byPath.size) return value;
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'string') {
      const spans = byPath.get(path);
      return spans ? redact(v, spans, session).text : v;
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, childPath(path, i)));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, child] of Object.entries(v as Record<string, unknown>))
        out[k] = walk(child, childPath(path, k));
      return out;
    }
    return v;
  };
  return walk(value, '$');
}
