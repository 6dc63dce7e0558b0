/**
 * A multipart body read one way only (pure, no I/O): its boundary, its parts' headers.
 *
 * Why: a form is read here with the runtime's parser. It was forwarded as sent, so the boundary the
 * provider splits it on had to be the one the gateway did; it is now forwarded as the gateway's
 * re-encoding of what it parsed (llm.form-reencode.ts), and these refusals stay as a second line (a
 * body no client writes is refused rather than read one way). Parsers disagree when the type names it
 * more than once (`boundary=A; boundary=B`: the runtime keeps the first, Python's multipart
 * parsers the last) or in RFC 2231's extended spelling (`boundary*=utf-8''B`, which some decode and
 * prefer) — and one body can hold a form for each boundary, each the other's preamble or epilogue:
 * a batch upload whose file names an allowed model read one way, and another model read the other.
 * So such a type is refused before the body is parsed (workers/gateway/llm.form-read.ts readForm).
 */
import { AppError } from '../lib/errors';

/** The refusal of a multipart Content-Type that does not name exactly one plain `boundary`; null when it does. */
export function boundaryFault(contentType: string): AppError | null {
  // A `;` inside a quoted value splits too: a parameter that only looks like a boundary is refused
  // with the rest (fail closed; no client quotes one in another parameter).
  const names = contentType
    .split(';')
    .slice(1)
    .map((param) => param.split('=')[0]!.trim().toLowerCase())
    .filter((name) => name.startsWith('boundary'));
  if (names.length === 1 && names[0] === 'boundary') return null;
  // None at all: the runtime's parser refuses the body as it always did.
  if (names.length === 0) return null;
  return new AppError('validation_failed', {
    message: 'A multipart/form-data Content-Type must name exactly one boundary parameter (boundary=…)',
    details: { location: 'header', path: 'content-type' },
  });
}

/** The boundary of a Content-Type boundaryFault passed (quotes removed); null when it names none. */
function boundaryOf(contentType: string): string | null {
  for (const param of contentType.split(';').slice(1)) {
    const at = param.indexOf('=');
    if (at < 0 || param.slice(0, at).trim().toLowerCase() !== 'boundary') continue;
    const value = param.slice(at + 1).trim();
    return value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.slice(1, -1) : value;
  }
  return null;
}

/**
 * The refusal of a multipart body a part of which spells its headers two ways; null otherwise.
 *
 * Why: the runtime's parser takes a part's first `Content-Disposition` header, Python's multipart
 * parsers the last, so a part can be a field `x` here and a second `file` there — the file the
 * provider stores (the last of two) is not the one whose lines were read. Likewise a `name`
 * parameter given twice or as `name*=` (RFC 2231), and a folded header line (a line starting with
 * a blank continues the one before for some parsers, not for others). Every part's header block is
 * scanned (after each `--boundary` at a line start), so nothing depends on which parser splits
 * the parts. Linear: one search for the delimiter, each header line read once.
 */
export function partHeadersFault(bytes: Uint8Array, contentType: string): AppError | null {
  const boundary = boundaryOf(contentType);
  if (!boundary) return null;
  // Byte for character, whatever the bytes: only ASCII is looked for.
  const text = new TextDecoder('latin1').decode(bytes);
  const delimiter = `--${boundary}`;
  for (let at = text.indexOf(delimiter); at !== -1; at = text.indexOf(delimiter, at + delimiter.length)) {
    if (at > 0 && text[at - 1] !== '\n') continue;
    // The close delimiter: what follows is the epilogue, no part.
    if (text.startsWith('--', at + delimiter.length)) continue;
    // `--B` then more than blanks before the line ends is a content line, no delimiter.
    const lineEnd = text.indexOf('\n', at);
    const rest = text.slice(at + delimiter.length, lineEnd < 0 ? text.length : lineEnd);
    if (rest.trim() !== '') continue;
    const fault = headerBlockFault(text, lineEnd, delimiter);
    if (fault) return partFault(fault);
  }
  return null;
}

/**
 * What is ambiguous in the header lines from `start` (the newline ending a delimiter line) to the
 * first blank one.
 */
function headerBlockFault(text: string, start: number, delimiter: string): string | null {
  if (start < 0) return null;
  const seen = new Set<string>();
  for (let from = start + 1; from < text.length; ) {
    const end = text.indexOf('\n', from);
    const line = text.slice(from, end < 0 ? text.length : end).replace(/\r$/, '');
    // A blank line ends the headers; a delimiter (a malformed part) starts the next block: each
    // line is read in one block only.
    if (line === '' || line.startsWith(delimiter)) return null;
    if (line[0] === ' ' || line[0] === '\t') return 'a folded header line';
    const colon = line.indexOf(':');
    const name = (colon < 0 ? line : line.slice(0, colon)).trim().toLowerCase();
    if (seen.has(name)) return `two ${JSON.stringify(name)} headers`;
    seen.add(name);
    if (name === 'content-disposition') {
      const fault = dispositionFault(line.slice(colon + 1));
      if (fault) return fault;
    }
    // RFC 7578 drops Content-Transfer-Encoding from forms and the runtime's parser ignores it, but
    // some parsers still decode base64 or quoted-printable parts: the value read here would not be
    // the one the provider reads.
    if (
      name === 'content-transfer-encoding' &&
      !IDENTITY_ENCODINGS.has(
        line
          .slice(colon + 1)
          .trim()
          .toLowerCase(),
      )
    )
      return 'a part in a transfer encoding (Content-Transfer-Encoding)';
    if (end < 0) return null;
    from = end + 1;
  }
  return null;
}

/** A Content-Disposition naming a parameter twice, or its name in RFC 2231's spelling. */
function dispositionFault(value: string): string | null {
  const names = new Set<string>();
  for (const param of value.split(';').slice(1)) {
    const name = param.split('=')[0]!.trim().toLowerCase();
    if (name.startsWith('name*')) return 'a part name in RFC 2231 spelling (name*=)';
    if (names.has(name)) return `a part's ${JSON.stringify(name)} given twice`;
    names.add(name);
  }
  return null;
}

/** The transfer encodings that leave a part's bytes as they are. */
const IDENTITY_ENCODINGS = new Set(['7bit', '8bit', 'binary']);

function partFault(what: string): AppError {
  return new AppError('validation_failed', {
    message: `A multipart/form-data part spells its headers two ways (${what}): parsers would read it differently`,
    details: { location: 'body' },
  });
}
