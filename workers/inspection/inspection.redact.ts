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
import { AppError } from '../lib/errors.js';
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

/** Every placeholder-shaped token `text` spells (`[EMAIL_3]`): one pass, however many values are masked. */
function spelledIn(text: string): Set<string> {
  return new Set(text.match(/\[[A-Z]{2,16}_\d+\]/g) ?? []);
}

function placeholderFor(
  session: RedactionSession,
  type: string,
  value: string,
  spelled: () => Set<string>,
): string {
  const key = `${type}\0${value}`;
  const known = session.byValue.get(key);
  if (known) return known;
  let n = session.counters.get(type) ?? 0;
  let placeholder: string;
  // Skip numbers the text already spells, or the answer could not tell ours from theirs. (A set of
  // them, not a search of the text per new value: 50,000 values in 2 MB were 50,000 searches.)
  do placeholder = `[${type}_${++n}]`;
  while (spelled().has(placeholder) || session.mapping.has(placeholder));
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
  let spelled: Set<string> | null = null;
  const inText = () => {
    spelled ??= spelledIn(text);
    return spelled;
  };
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
      placeholder: placeholderFor(session, span.placeholder, text.slice(start, end), inText),
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

/** What the caller of redactJson adds (inspection.redact.complete.ts `maskingHooks`). */
export interface RedactHooks {
  /**
   * The spans to mask in one string (or key) at `location`, made whole: when a finding says its rule
   * reached the scan's cap (`more`), every span of the string is looked up again. May throw the
   * refusal of what cannot be masked whole.
   */
  complete?(text: string, spans: Span[], location: string): readonly Span[];
  /** The refusal of a redaction that cannot be made (two keys masked to one name) at `location`. */
  refuse?(finding: Partial<Finding>, location: string): Error;
}

/**
 * Redacts a JSON value from scanJson findings (each with its `location`): returns a copy with the
 * strings at those locations redacted, and the object keys at `…~key` locations renamed to their
 * masked form (`{"jane@corp.example": 1}` → `{"[EMAIL_1]": 1}`): a key a `redact` rule matches is
 * data (a tool input keyed by address, a result's map), and forwarding it in clear broke the promise
 * `redact` makes. Two keys of one object that would mask to the same name are refused
 * (`inspection_unmaskable`) rather than merged. Every own key is kept as it was, `__proto__`
 * included: the copy is built with defineProperty, as JSON.parse builds, never by assignment (which
 * drops a `__proto__` key, or sets the copy's prototype).
 */
export function redactJson(
  value: unknown,
  findings: readonly (Span & { location?: string })[],
  session: RedactionSession = createRedactionSession(),
  hooks: RedactHooks = {},
): unknown {
  const complete = hooks.complete ?? ((_text: string, spans: Span[]) => spans);
  const refuse = hooks.refuse ?? keyCollision;
  const byPath = new Map<string, Span[]>();
  for (const f of findings) {
    if (!f.location) continue;
    const list = byPath.get(f.location);
    if (list) list.push(f);
    else byPath.set(f.location, [f]);
  }
  if (!byPath.size) return value;
  const mask = (text: string, path: string): string => {
    const spans = byPath.get(path);
    return spans ? redact(text, complete(text, spans, path), session).text : text;
  };
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'string') return mask(v, path);
    if (Array.isArray(v)) return v.map((item, i) => walk(item, childPath(path, i)));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      const entries = Object.entries(v as Record<string, unknown>);
      const renamed = entries.map(([k]) => mask(k, `${childPath(path, k)}~key`));
      const names = new Map<string, number>();
      entries.forEach(([k, child], i) => {
        const name = renamed[i]!;
        const other = names.get(name);
        if (other !== undefined) {
          const key = name === k ? entries[other]![0] : k;
          const at = `${childPath(path, key)}~key`;
          throw refuse(byPath.get(at)?.[0] ?? {}, at);
        }
        names.set(name, i);
        Object.defineProperty(out, name, {
          value: walk(child, childPath(path, k)),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      });
      return out;
    }
    return v;
  };
  return walk(value, '$');
}

/** Two keys of one object that mask to one name: forwarding either would change the body. */
export function keyCollision(f: Partial<Finding>, location: string): AppError {
  return new AppError('inspection_unmaskable', {
    message: 'Refused by content inspection: two keys of one object would be masked to the same name',
    details: { ruleId: f.ruleId, category: f.category, severity: f.severity, location },
  });
}
