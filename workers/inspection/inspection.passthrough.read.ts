/**
 * What a passthrough LLM call carries to the provider, read as texts to inspect (pure: no I/O but
 * reading the parts of a form already parsed). docs/detections.md#passthrough.
 *
 * A passthrough body is forwarded as sent (a form as the gateway re-encodes the entries it parsed:
 * llm.form-read.ts, so a form is read from those entries — and a form's text fields, each a piece with
 * its entry (`field`), may be masked and the form re-encoded: inspection.passthrough.mask.ts), so the
 * gateway reads it the way a provider may:
 *   - the query's parameters, each `name=value` one text (`query <name>`);
 *   - a body that is one JSON value (whatever its Content-Type): every string, keys of 8 or more
 *     characters included, at its JSON path (`$.requests[0].params.messages[0].content`);
 *   - a body of JSON lines (every non-blank line is JSON: a batch or fine-tuning file sent as
 *     `application/jsonl`): each line's strings at `line <n> $.…`;
 *   - a URL-encoded form: each field, `name=value`, one text (`field <name>`);
 *   - a multipart form: each text field (`part <name>`), each file part that is UTF-8 (JSON, JSON
 *     lines — `part <name> line <n> $.…` — or text), and each part's name and filename
 *     (`part <name> header`); a file part that is not text (an image, audio) is not scanned;
 *   - any other body that is text: one text (`body`); one that is not is not scanned.
 * Text is UTF-8, or UTF-16 / UTF-32 where a JSON parser would take them (inspection.passthrough.text.ts).
 * A name in a location is the part's or parameter's own when it is a plain identifier, else its
 * position (`#3`): a location lands in the audit row and the refusal, and a name is caller text.
 *
 * Bounds (inspection stays linear, and nothing past a bound is passed unread): text over
 * MAX_INSPECTED_BYTES (the engine's JSON text budget, and the cap on an answer message: a body that
 * is text, or a form's text fields and text files together — binary is not read, so not counted), more than
 * MAX_FORM_PARTS parts, more than MAX_INSPECTED_STRINGS JSON strings in all, or JSON nested deeper
 * than the engine reads (32), is refused (`payload_too_large`). A JSON text whose strings and keys
 * outnumber those of its parsed value repeats a key: the provider may read the value the parse
 * dropped, so it is refused (`validation_failed`).
 */
import { AppError } from '../lib/errors';
import { isRecord } from '../lib/values';
import { DEFAULT_LIMITS } from './inspection.engine';
import { scannableText } from './inspection.passthrough.text';

/** A body larger than this is not inspected, so it is refused (4 MiB). */
export const MAX_INSPECTED_BYTES = DEFAULT_LIMITS.maxJsonChars;
/** Parts of a multipart form (and fields of a URL-encoded one, and query parameters) read. */
export const MAX_FORM_PARTS = 1_000;
/**
 * Strings (and keys of 8+ characters) of all the body's JSON texts together: each is a scan, which
 * costs a few µs before it reads a character, so their number bounds a body of many short strings.
 */
export const MAX_INSPECTED_STRINGS = 100_000;
/** JSON nesting the engine walks (scanJson's own bound). */
export const MAX_INSPECTED_DEPTH = DEFAULT_LIMITS.maxJsonDepth;

/** One part of a multipart form, its file's bytes read (formParts). */
export interface FormPart {
  name: string;
  filename: string | null;
  value: string | Uint8Array;
}

/** What the adapter hands the request stage of a passthrough call on an inspected connection. */
export interface InspectableBody {
  /** The query (`?…` or ''). */
  search: string;
  /** The Content-Type, lower-cased. */
  type: string;
  /** A multipart body's parts (null: not multipart, or over a bound: `fault`). */
  parts: FormPart[] | null;
  /** A bound passed while reading (refused by the stage, before anything is scanned). */
  fault: AppError | null;
}

/**
 * A form's text field as a piece reads it: its entry's position in the form, its name, and where
 * its value starts in the piece's text (a URL-encoded field is read as `name=value`). A redaction
 * may rewrite the value (the form is forwarded re-encoded: inspection.passthrough.mask.ts).
 */
export interface FieldRef {
  index: number;
  name: string;
  offset: number;
}

/** A text to scan, and where it is: JSON (its strings at their paths under `prefix`) or text. */
export type Piece =
  | { kind: 'json'; prefix: string; value: unknown }
  | { kind: 'text'; prefix: string; text: string; field?: FieldRef };

/** The pieces of a passthrough request, and whether its body is one JSON value (rewritable). */
export interface Pieces {
  pieces: Piece[];
  /** The body's JSON value when the body is one (the one piece a redaction may rewrite). */
  json: { value: unknown } | null;
  /** A URL-encoded body's fields, in order (re-encoded with masked values); null otherwise. */
  fields: Array<[string, string]> | null;
}

export function tooLarge(message: string, details: Record<string, unknown>): AppError {
  return new AppError('payload_too_large', { message, details: { location: 'body', ...details } });
}

const bodyTooLargeToInspect = () =>
  tooLarge(
    `Content inspection reads at most ${MAX_INSPECTED_BYTES} bytes of a passthrough request body; this one is larger`,
    { maxBytes: MAX_INSPECTED_BYTES },
  );

const tooManyParts = () =>
  tooLarge(`Content inspection reads at most ${MAX_FORM_PARTS} form fields or query parameters`, {
    maxParts: MAX_FORM_PARTS,
  });

/**
 * The body as the stage will read it, prepared while the request is read (a form's file parts are
 * Blobs: reading them is asynchronous, the stage is not). Only called for an inspected connection.
 */
export async function inspectableBody(
  raw: Uint8Array | null,
  search: string,
  type: string,
  form: FormData | null,
): Promise<InspectableBody> {
  const body: InspectableBody = { search, type: type.toLowerCase(), parts: null, fault: null };
  // The bound is on the text there is to scan: binary (an audio file, an image) is not read, so a
  // large upload of it is no reason to refuse; text past the bound cannot be scanned, so it is.
  if (!form) {
    if (raw && raw.byteLength > MAX_INSPECTED_BYTES && scannableText(raw) !== null)
      body.fault = bodyTooLargeToInspect();
  } else {
    const parts: FormPart[] = [];
    for (const [name, value] of form.entries()) {
      if (parts.length === MAX_FORM_PARTS) {
        body.fault = tooManyParts();
        return body;
      }
      if (typeof value === 'string') parts.push({ name, filename: null, value });
      else {
        const file = value as File;
        parts.push({ name, filename: file.name ?? null, value: new Uint8Array(await file.arrayBuffer()) });
      }
    }
    body.parts = parts;
    if (textBytes(parts) > MAX_INSPECTED_BYTES) body.fault = bodyTooLargeToInspect();
  }
  return body;
}

/** The bytes of a form's parts that are text (fields, and files that decode as text). */
function textBytes(parts: readonly FormPart[]): number {
  let total = 0;
  for (const part of parts)
    if (typeof part.value === 'string') total += part.value.length;
    else if (scannableText(part.value) !== null) total += part.value.byteLength;
  return total;
}

/** A name fit for a location (an identifier-like name), else the part's position. */
function label(name: string, index: number): string {
  return /^[A-Za-z0-9_.[\]-]{1,64}$/.test(name) ? name : `#${index + 1}`;
}

/**
 * The strings and keys of a JSON value (to compare with its text's literals), counting the ones a
 * scan reads (strings, and keys of 8 or more characters: inspection.json.ts) against the body's
 * budget; throws past it, or past the depth the engine walks.
 */
function countStrings(value: unknown, budget: { strings: number }): number {
  let strings = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > MAX_INSPECTED_DEPTH)
      throw tooLarge(`Content inspection reads JSON nested at most ${MAX_INSPECTED_DEPTH} deep`, {
        maxDepth: MAX_INSPECTED_DEPTH,
      });
    if (typeof v === 'string') {
      strings++;
      budget.strings++;
    } else if (Array.isArray(v)) for (const item of v) stack.push([item, depth + 1]);
    else if (isRecord(v))
      for (const [key, child] of Object.entries(v)) {
        strings++;
        if (key.length >= 8) budget.strings++;
        stack.push([child, depth + 1]);
      }
    if (budget.strings > MAX_INSPECTED_STRINGS)
      throw tooLarge(
        `Content inspection reads at most ${MAX_INSPECTED_STRINGS} JSON strings of a request body`,
        {
          maxStrings: MAX_INSPECTED_STRINGS,
        },
      );
  }
  return strings;
}

/** The string literals of a JSON text (keys and values), counted on its characters. */
function stringLiterals(text: string): number {
  let count = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) {
    count++;
    // To the closing quote: a backslash escapes the character after it.
    for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
  }
  return count;
}

/** JSON text → its value, counted against the bounds, or undefined when it is not JSON. */
function jsonOf(text: string, where: string, budget: { strings: number }): { value: unknown } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (countStrings(value, budget) !== stringLiterals(text))
    throw new AppError('validation_failed', {
      message:
        'A JSON text of the request repeats a key: the provider may read the value the gateway would not inspect',
      details: { location: 'body', path: where },
    });
  return { value };
}

/** A text: one JSON value, JSON lines, or text — as pieces under `prefix`. */
function textPieces(
  text: string,
  prefix: string,
  budget: { strings: number },
  out: Piece[],
): { value: unknown } | undefined {
  const whole = jsonOf(text, prefix || '$', budget);
  const at = prefix ? `${prefix} ` : '';
  if (whole) {
    // A part (a file) holding one line of JSON is a JSON lines file of one line: named as such.
    const first = text.slice(0, text.search(/\S/)).split('\n').length;
    const oneLine = prefix !== '' && !text.trim().includes('\n');
    out.push({ kind: 'json', prefix: oneLine ? `${at}line ${first} $` : `${at}$`, value: whole.value });
    return whole;
  }
  const lines: Piece[] = [];
  const counted = budget.strings;
  const split = text.split('\n');
  for (let n = 0; n < split.length; n++) {
    if (split[n]!.trim() === '') continue;
    const line = jsonOf(split[n]!, `${at}line ${n + 1}`, budget);
    if (!line) {
      // Not JSON lines: the text is read whole, once (the lines parsed so far are not counted).
      budget.strings = counted;
      out.push({ kind: 'text', prefix: prefix || 'body', text });
      return undefined;
    }
    lines.push({ kind: 'json', prefix: `${at}line ${n + 1} $`, value: line.value });
  }
  out.push(...lines);
  return undefined;
}

/** Every text a passthrough request carries, as pieces; throws a bound's or a repeated key's refusal. */
export function passthroughPieces(raw: Uint8Array | null, body: InspectableBody): Pieces {
  if (body.fault) throw body.fault;
  const pieces: Piece[] = [];
  const budget = { strings: 0 };
  const params = [...new URLSearchParams(body.search)];
  if (params.length > MAX_FORM_PARTS) throw tooManyParts();
  params.forEach(([name, value], i) => {
    pieces.push({ kind: 'text', prefix: `query ${label(name, i)}`, text: `${name}=${value}` });
  });
  let json: { value: unknown } | null = null;
  let fields: Array<[string, string]> | null = null;
  if (body.parts) {
    body.parts.forEach((part, i) => {
      const at = `part ${label(part.name, i)}`;
      pieces.push({ kind: 'text', prefix: `${at} header`, text: `${part.name}\n${part.filename ?? ''}` });
      if (typeof part.value === 'string')
        pieces.push({
          kind: 'text',
          prefix: at,
          text: part.value,
          field: { index: i, name: part.name, offset: 0 },
        });
      else {
        const text = scannableText(part.value);
        if (text !== null) textPieces(text, at, budget, pieces);
      }
    });
  } else if (raw?.byteLength) {
    const text = scannableText(raw);
    if (text === null) return { pieces, json, fields };
    if (body.type.startsWith('application/x-www-form-urlencoded')) {
      fields = [...new URLSearchParams(text)];
      if (fields.length > MAX_FORM_PARTS) throw tooManyParts();
      fields.forEach(([name, value], i) => {
        pieces.push({
          kind: 'text',
          prefix: `field ${label(name, i)}`,
          text: `${name}=${value}`,
          field: { index: i, name, offset: name.length + 1 },
        });
      });
    } else json = textPieces(text, '', budget, pieces) ?? null;
  }
  return { pieces, json, fields };
}
