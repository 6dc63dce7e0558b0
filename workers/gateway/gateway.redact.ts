/**
 * The injected upstream credential kept out of what the upstream answers (transport, no policy).
 *
 * An upstream may echo the credential it was sent — `401 {"error":"invalid key: Bearer sk-…"}`, a
 * debug header `x-debug-auth: Bearer sk-…`, a runtime error quoting the URL that carried it as a
 * query parameter. The gateway injected it, so it must not hand it to the caller: every form of it
 * (`credentialForms`) becomes `[REDACTED]`
 *   - in response header values and the status text, always (a handful of short strings);
 *   - in the body of a non-2xx answer, read whole up to ERROR_BODY_CAP_BYTES (and for at most the
 *     connection's upstream timeout) and truncated past it: it is an error body, not the answer. A
 *     body that is not UTF-8 is redacted byte for byte and otherwise kept as sent. That read
 *     (`readErrorBody`) is the only one of a non-2xx body: content inspection reads what it returns
 *     (gateway.error-answer.ts), and refuses a body it cut rather than pass it truncated.
 * A 2xx body is streamed untouched: it is the hot path (SSE relayed natively, no JavaScript per
 * chunk), and an upstream whose successful answer carries its own credential has a design flaw of
 * its own that no scan of ours would reliably hide (a split or re-encoded echo would pass anyway).
 * Nothing here runs for a connection without a credential.
 */

import { stringWeight, WeightedMap } from '../lib/bounded.map.js';

export const REDACTED = '[REDACTED]';

/** How much of a non-2xx body is read, scrubbed and passed on; the rest is dropped. */
export const ERROR_BODY_CAP_BYTES = 64 * 1024;

/**
 * Forms shorter than this are not replaced: scrubbing a 1–3 character string out of every header
 * would break the answer, and a credential that short is no secret anyway.
 */
const MIN_FORM_LENGTH = 4;

/** `Basic <base64>` / `Bearer <token>` stored whole as a header credential (authType 'header'). */
const SCHEME_PREFIX = /^(basic|bearer|token|apikey)\s+(\S+)$/i;

/**
 * Every form in which the credential may come back, longest first (so a form that contains another
 * is replaced whole): as sent; percent-encoded (encodeURIComponent, and form encoding's `+` for a
 * space), as the query parameter carried it; JSON-escaped (`"` `\` and `\/`), as a JSON error body
 * quotes it; the token alone when the stored value carries its scheme; and a Basic credential's
 * decoded `user:password`.
 */
export function credentialForms(credential: string): string[] {
  const forms = new Set<string>([credential]);
  const add = (form: string) => forms.add(form);
  add(encodeURIComponent(credential));
  add(new URLSearchParams({ c: credential }).toString().slice(2));
  const json = JSON.stringify(credential).slice(1, -1);
  add(json);
  add(json.replaceAll('/', '\\/'));
  const scheme = SCHEME_PREFIX.exec(credential.trim());
  if (scheme) {
    const token = scheme[2]!;
    add(token);
    if (scheme[1]!.toLowerCase() === 'basic') {
      const decoded = decodeBase64(token);
      if (decoded) add(decoded);
    }
  }
  return [...forms].filter((form) => form.length >= MIN_FORM_LENGTH).sort((a, b) => b.length - a.length);
}

/** Credentials whose forms this isolate remembers (the connection cache holds them decrypted anyway). */
const FORMS_LIMIT = 1_000;
/**
 * And by weight: a credential is up to 8,192 characters and its forms (percent-encoded: up to
 * three times longer) several times that, so 1,000 of them could be over 100 MB.
 */
export const FORMS_CACHE_BYTES = 1024 * 1024;
const formsByCredential = new WeightedMap<string, readonly string[]>(FORMS_LIMIT, FORMS_CACHE_BYTES);

/**
 * credentialForms, made once per credential per isolate: every answer of a connection with a
 * credential is checked against them, and building them (encodings, a sort) on each would be
 * garbage per call on the hot path.
 */
export function formsFor(credential: string): readonly string[] {
  let forms = formsByCredential.get(credential);
  if (!forms) {
    forms = Object.freeze(credentialForms(credential));
    let weight = 64 + stringWeight(credential);
    for (const form of forms) weight += 32 + stringWeight(form);
    formsByCredential.set(credential, forms, weight);
  }
  return forms;
}

function decodeBase64(value: string): string | null {
  try {
    const decoded = new TextDecoder().decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0)));
    return decoded.includes('\uFFFD') ? null : decoded;
  } catch {
    return null; // not base64
  }
}

/** The text with every form replaced. Linear in the text per form; no regular expression. */
export function redactText(text: string, forms: readonly string[]): string {
  let out = text;
  for (const form of forms) if (out.includes(form)) out = out.split(form).join(REDACTED);
  return out;
}

/** True when the text holds a form (a header name: such a header is dropped, not rewritten). */
export function holdsCredential(text: string, forms: readonly string[]): boolean {
  return forms.some((form) => text.includes(form));
}

/**
 * A non-2xx body, read up to `capBytes` and for at most `timeoutMs`, with every form replaced. A
 * body cut short (cap, time, or the upstream breaking off) also loses a tail that is the start of a
 * form: the cut may have split a credential.
 */
export async function redactedErrorBody(
  body: ReadableStream<Uint8Array>,
  forms: readonly string[],
  timeoutMs: number,
  capBytes = ERROR_BODY_CAP_BYTES,
): Promise<string> {
  return new TextDecoder().decode((await readErrorBody(body, forms, timeoutMs, capBytes)).bytes);
}

/** Why a non-2xx body was not read whole: over the cap, past the time, or broken off upstream. */
export type ErrorBodyCut = 'cap' | 'time' | 'broken';

/** A non-2xx body as read once (gateway.forward.ts), for the caller and for content inspection. */
export interface ErrorBody {
  /** What is passed on: the upstream's bytes, or with a credential, the text with its forms replaced. */
  bytes: Uint8Array;
  /** Null when read to its end within the cap and the time. */
  cut: ErrorBodyCut | null;
}

/**
 * The one read of a non-2xx body: up to `capBytes`, for at most `timeoutMs`. With forms (a
 * credential was injected) the text has every form replaced, as redactedErrorBody says; without,
 * the bytes are the upstream's, untouched.
 */
export async function readErrorBody(
  body: ReadableStream<Uint8Array>,
  forms: readonly string[],
  timeoutMs: number,
  capBytes = ERROR_BODY_CAP_BYTES,
): Promise<ErrorBody> {
  const { bytes, cut } = await readCapped(body, capBytes, timeoutMs);
  if (forms.length === 0) return { bytes, cut };
  const text = utf8(bytes, cut !== null);
  if (text !== null) return { bytes: new TextEncoder().encode(redactedText(text, forms, cut)), cut };
  // Not UTF-8: redacted byte for byte, each byte one character, so that what is not text stays what
  // the upstream sent (content inspection refuses it as not text rather than read U+FFFDs).
  return { bytes: fromBytewise(redactedText(bytewise(bytes), forms.map(utf8Bytewise), cut)), cut };
}

function redactedText(text: string, forms: readonly string[], cut: ErrorBodyCut | null): string {
  const out = redactText(text, forms);
  return cut ? withoutSplitForm(out, forms) : out;
}

/** The bytes as UTF-8 text, or null when they are not UTF-8 (`cut`: the cut may split the last character). */
function utf8(bytes: Uint8Array, cut: boolean): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes, { stream: cut });
  } catch {
    return null;
  }
}

/** Each byte as the character of its value (not TextDecoder's 'latin1', which is windows-1252). */
function bytewise(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 8192)
    parts.push(String.fromCharCode(...bytes.subarray(i, i + 8192)));
  return parts.join('');
}

function fromBytewise(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** A form's UTF-8 bytes, bytewise: what it looks like in a body read bytewise. */
function utf8Bytewise(form: string): string {
  return bytewise(new TextEncoder().encode(form));
}

/** The text minus its longest tail that is a proper prefix of a form. */
function withoutSplitForm(text: string, forms: readonly string[]): string {
  let cut = 0;
  for (const form of forms) {
    for (let k = Math.min(form.length - 1, text.length); k > cut; k--) {
      if (text.endsWith(form.slice(0, k))) {
        cut = k;
        break;
      }
    }
  }
  return text.slice(0, text.length - cut);
}

async function readCapped(
  body: ReadableStream<Uint8Array>,
  capBytes: number,
  timeoutMs: number,
): Promise<{ bytes: Uint8Array; cut: ErrorBodyCut | null }> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let whole = false;
  let cut: ErrorBodyCut = 'cap';
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), timeoutMs);
  });
  try {
    // `<=`: a body of exactly capBytes is whole only if the next read says it has ended.
    while (size <= capBytes) {
      const next = await Promise.race([reader.read(), expired]);
      if (next === 'expired') {
        cut = 'time';
        break;
      }
      if (next.done) {
        whole = true;
        break;
      }
      chunks.push(next.value);
      size += next.value.byteLength;
    }
  } catch {
    // The upstream broke off: what arrived is passed on, cut as a truncated body is.
    cut = 'broken';
  } finally {
    clearTimeout(timer);
    if (!whole) reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(size, capBytes));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.length - offset);
    bytes.set(part, offset);
    offset += part.length;
    if (offset >= bytes.length) break;
  }
  return { bytes, cut: whole && size <= capBytes ? null : cut };
}
