/**
 * The poisoning and shadowing scan of listed items (docs/tool-integrity.md#poisoning-scan).
 *
 * Poisoning: text a model reads (the description, and every string inside the schemas — parameter
 * descriptions are a known hiding place) that addresses the model rather than describing the
 * tool: `<IMPORTANT>`-style tags, concealment ("do not tell the user"), overrides ("ignore
 * previous instructions"), requests to read sensitive files, exfiltration (a send/upload verb near
 * a URL), and invisible characters (zero-width, bidi controls, Unicode tags) that hide text from
 * the person reviewing it.
 * Shadowing: a name equal, confusable with, or one or two edits away from a tool of the
 * organization's other connections (a tool can then be picked in place of the one meant), and
 * descriptions that name another connection's tool (instructions about how to use *it*).
 *
 * Pure and linear: a constant set of literal phrases searched in a lower-cased, whitespace-folded
 * copy of the text, regular expressions without nested quantifiers, and edit distance on names
 * capped at NAME_CAP characters.
 */
import { normalizeName } from '../policy/policy.normalize.js';
import type { Severity } from './integrity.classify.js';

export interface ScanFinding {
  kind:
    | 'hidden_instruction_tag'
    | 'model_directive'
    | 'concealment'
    | 'sensitive_file'
    | 'exfiltration'
    | 'url'
    | 'invisible_characters'
    | 'secret_in_description'
    | 'shadowing'
    | 'confusable_name'
    | 'typosquat'
    | 'cross_tool_reference';
  severity: Severity;
  /** Where: `description`, `inputSchema.properties.x.description`, `name`… */
  path: string;
  /** What matched (a phrase, a tool name, a code point) — never more than 80 characters. */
  match: string;
}

/** Longest text scanned per string; the rest is not read (descriptions are short). */
const TEXT_CAP = 64 * 1024;
/** Most strings read from one definition. */
const STRINGS_CAP = 500;

const TAG = /<\s*\/?\s*(important|system|instructions?|secret|hidden|admin|critical)\b[^>]{0,40}>/i;
const URL = /https?:\/\/[^\s"'<>()]{3,200}/i;
const INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u{e0000}-\u{e007f}]/u;
// Shapes of credentials that must never sit in a description (one alternation, no nesting).
const SECRET = /\b(?:sk-[A-Za-z0-9]{20,}|ghp_[A-Za-z0-9]{30,}|AKIA[0-9A-Z]{16}|xox[bpa]-[A-Za-z0-9-]{10,})\b/;

const PHRASES: ReadonlyArray<{ kind: ScanFinding['kind']; severity: Severity; phrases: readonly string[] }> =
  [
    {
      kind: 'model_directive',
      severity: 'critical',
      phrases: [
        'ignore previous instructions',
        'ignore all previous',
        'ignore the previous',
        'disregard previous',
        'disregard all prior',
        'forget your instructions',
        'override your instructions',
        'you must first',
        'before using this tool, read',
        'before calling any other tool',
        'instead of the user',
        'system prompt',
      ],
    },
    {
      kind: 'concealment',
      severity: 'critical',
      phrases: [
        'do not tell the user',
        "don't tell the user",
        'do not mention',
        "don't mention",
        'without telling the user',
        'without informing the user',
        'the user must not know',
        'hide this from the user',
        'do not reveal',
        'keep this secret',
      ],
    },
    {
      kind: 'sensitive_file',
      severity: 'critical',
      phrases: [
        '~/.ssh',
        'id_rsa',
        '/etc/passwd',
        '/etc/shadow',
        '.aws/credentials',
        'mcp.json',
        '~/.cursor',
        '.env file',
        'private key',
      ],
    },
    {
      kind: 'exfiltration',
      severity: 'critical',
      phrases: [
        'send the contents',
        'send its contents',
        'send them to',
        'send it to',
        'upload the',
        'post the contents',
        'forward all',
        'pass its content as',
        'include the contents',
      ],
    },
  ];

function fold(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ');
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** The findings in one string at `path`. */
export function scanText(text: string, path: string): ScanFinding[] {
  const raw = text.length > TEXT_CAP ? text.slice(0, TEXT_CAP) : text;
  const out: ScanFinding[] = [];
  const invisible = INVISIBLE.exec(raw);
  if (invisible) {
    const cp = invisible[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    out.push({ kind: 'invisible_characters', severity: 'critical', path, match: `U+${cp}` });
  }
  const tag = TAG.exec(raw);
  if (tag) out.push({ kind: 'hidden_instruction_tag', severity: 'critical', path, match: clip(tag[0]) });
  const secret = SECRET.exec(raw);
  if (secret)
    out.push({
      kind: 'secret_in_description',
      severity: 'critical',
      path,
      match: `${secret[0].slice(0, 4)}…`,
    });
  const folded = fold(raw.replace(INVISIBLE_ALL, ''));
  for (const group of PHRASES) {
    const hit = group.phrases.find((p) => folded.includes(p));
    if (hit) out.push({ kind: group.kind, severity: group.severity, path, match: hit });
  }
  const url = URL.exec(raw);
  if (url) {
    // A URL alone is worth a look; a URL beside a send/upload request is exfiltration.
    const exfil = out.some((f) => f.kind === 'exfiltration');
    if (!exfil) out.push({ kind: 'url', severity: 'warning', path, match: clip(url[0]) });
  }
  return out;
}

const INVISIBLE_ALL = new RegExp(INVISIBLE.source, 'gu');

/** Every string of a definition with its path, breadth-bounded. */
function strings(value: unknown, path: string, out: Array<[string, string]>, depth = 0): void {
  if (out.length >= STRINGS_CAP || depth > 16) return;
  if (typeof value === 'string') out.push([path, value]);
  else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) strings(value[i], `${path}[${i}]`, out, depth + 1);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$schema' && isMetaSchema(v)) continue;
      strings(v, path ? `${path}.${k}` : k, out, depth + 1);
    }
  }
}

/**
 * A JSON Schema dialect URI (`"$schema": "http://json-schema.org/draft-07/schema#"`, which SDKs add
 * to every input schema) is not text for the model: not reported as a `url`. Any other value is.
 */
const META_SCHEMA = /^https?:\/\/json-schema\.org\/[A-Za-z0-9/._#-]{1,80}$/;
function isMetaSchema(value: unknown): boolean {
  return typeof value === 'string' && META_SCHEMA.test(value);
}

/** The poisoning findings of one definition (every string in it, the name included). */
export function scanDefinition(definition: Record<string, unknown>): ScanFinding[] {
  const found: Array<[string, string]> = [];
  strings(definition, '', found);
  return found.flatMap(([path, text]) => scanText(text, path));
}

/** Names longer than this are compared on their first NAME_CAP characters. */
const NAME_CAP = 64;

/** Levenshtein distance, stopping early above `limit` (names are short). */
export function editDistance(a: string, b: string, limit = 2): number {
  const x = a.slice(0, NAME_CAP);
  const y = b.slice(0, NAME_CAP);
  if (Math.abs(x.length - y.length) > limit) return limit + 1;
  let prev = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (cur[j]! < best) best = cur[j]!;
    }
    if (best > limit) return limit + 1;
    prev = cur;
  }
  return prev[y.length]!;
}

/** A tool of another connection of the same organization. */
export interface OtherTool {
  connectionSlug: string;
  name: string;
}

/**
 * Shadowing findings for a tool named `name` (described by `description`) against the
 * organization's other connections' tools. Same name → warning (an agent with both may pick
 * either); same after normalisation (confusables, case, invisible characters) but spelled
 * differently → critical; one or two edits apart (names of 5+ characters) → warning.
 */
export function scanShadowing(
  name: string,
  description: string,
  others: readonly OtherTool[],
): ScanFinding[] {
  const out: ScanFinding[] = [];
  const mine = normalizeName(name);
  const text = fold(description);
  for (const other of others) {
    const theirs = normalizeName(other.name);
    const label = clip(`${other.connectionSlug}/${other.name}`);
    if (other.name === name) out.push({ kind: 'shadowing', severity: 'warning', path: 'name', match: label });
    else if (theirs === mine)
      out.push({ kind: 'confusable_name', severity: 'critical', path: 'name', match: label });
    else if (mine.length >= 5 && editDistance(mine, theirs) <= 2)
      out.push({ kind: 'typosquat', severity: 'warning', path: 'name', match: label });
    if (theirs.length >= 4 && text !== '' && wordIn(text, other.name.toLowerCase())) {
      out.push({ kind: 'cross_tool_reference', severity: 'warning', path: 'description', match: label });
    }
  }
  return out;
}

/** `word` in `text` with non-identifier characters (or the ends) on both sides. */
function wordIn(text: string, word: string): boolean {
  let from = 0;
  for (;;) {
    const at = text.indexOf(word, from);
    if (at < 0) return false;
    const before = at === 0 ? '' : text[at - 1]!;
    const after = text[at + word.length] ?? '';
    if (!/[a-z0-9_]/.test(before) && !/[a-z0-9_]/.test(after)) return true;
    from = at + 1;
  }
}
