/**
 * A multipart Content-Type's boundary, read one way only (pure, no I/O).
 *
 * Why: a form is read here with the runtime's parser and forwarded as sent, so the boundary the
 * provider splits it on must be the one the gateway did. Parsers disagree when the type names it
 * more than once (`boundary=A; boundary=B`: the runtime keeps the first, Python's multipart
 * parsers the last) or in RFC 2231's extended spelling (`boundary*=utf-8''B`, which some decode and
 * prefer) — and one body can hold a form for each boundary, each the other's preamble or epilogue:
 * a batch upload whose file names an allowed model read one way, and another model read the other.
 * So such a type is refused before the body is parsed (llm.adapter.ts readForm).
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
