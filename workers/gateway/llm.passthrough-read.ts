/**
 * A passthrough LLM request read as the provider may read it (llm.response.access.ts judges what it
 * names): its path routed as a server would route it, its body parsed as a create's. Fail closed:
 * a path with no one reading to agree on, or a body spelling a key twice, is refused. Pure.
 */
import { AppError } from '../lib/errors';
import { hasDuplicateKey } from '../lib/json.duplicates';
import { parseLlmBody } from '../llm/llm.request';

/** Percent-decoding rounds: a provider (or a proxy before it) may decode more than once. */
const DECODE_ROUNDS = 3;

/**
 * The path's segments as a provider may route them: percent-decoded until nothing changes (at most
 * DECODE_ROUNDS times: `%252F` is `/` to a server that decodes twice), empty and `.` segments
 * dropped, `..` resolved, `\` read as `/`. Null when it does not decode, or not within the rounds
 * (no reading to agree on). Linear: each round is one pass over a string no longer than the path.
 */
export function routedSegments(path: string): string[] | null {
  let decoded = path;
  for (let round = 0; ; round++) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return null;
    }
    if (next === decoded) break;
    if (round === DECODE_ROUNDS) return null;
    decoded = next;
  }
  const out: string[] = [];
  for (const segment of decoded.split(/[/\\]/)) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return out;
}

/** A passthrough body read as the provider would read a create's (parseLlmBody: limits, strict UTF-8). */
export function passthroughBody(raw: Uint8Array | null): Record<string, unknown> | null | AppError {
  if (!raw || raw.byteLength === 0) return null;
  try {
    const body = parseLlmBody(raw);
    // Forwarded as sent: `{"input_file_id":"a","input_file_id":"b"}` is `b` here and `a` to a
    // parser keeping the first key, so no one reading of it is judged (json.duplicates.ts).
    if (hasDuplicateKey(new TextDecoder().decode(raw))) return duplicateKey();
    return body;
  } catch (err) {
    return err instanceof AppError ? err : new AppError('parse_error', { details: { location: 'body' } });
  }
}

function duplicateKey(): AppError {
  return new AppError('validation_failed', {
    message: 'The body spells a key twice in one object: the provider might read either value',
    details: { location: 'body' },
  });
}
