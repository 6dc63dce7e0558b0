/**
 * A streamed text's deltas rewritten so that, joined, they read as the text with its redactions
 * applied (a held stream's masking, inspection.hold.ts; docs/detections.md). Each replacement goes
 * wholly into the delta where its match starts; the deltas it also covers keep only the rest of
 * their text (possibly nothing). Offsets are UTF-16 code units of the joined text, as the engine's
 * findings are; a match never starts or ends inside a surrogate pair, so no delta is cut inside
 * one. Pure.
 */
import type { RedactEdit } from './inspection.redact';

/**
 * The deltas with `edits` (ascending, not overlapping, offsets in `deltas.join('')`) applied. The
 * result has as many deltas as the input, and `result.join('')` is the edited text.
 */
export function spliceDeltas(deltas: readonly string[], edits: readonly RedactEdit[]): string[] {
  if (edits.length === 0) return [...deltas];
  const out: string[] = [];
  let e = 0; // the first edit not yet wholly behind us
  let at = 0; // where the delta at hand starts in the joined text
  for (const delta of deltas) {
    const end = at + delta.length;
    let text = '';
    let pos = at; // next character of this delta to copy
    while (e < edits.length && edits[e]!.start < end) {
      const edit = edits[e]!;
      // An edit that started in an earlier delta: its placeholder went there; skip what it covers.
      if (edit.start >= at) {
        text += delta.slice(pos - at, edit.start - at) + edit.placeholder;
      }
      pos = Math.max(pos, Math.min(edit.end, end));
      if (edit.end > end) break; // it goes on into the next delta
      e++;
    }
    text += delta.slice(pos - at);
    out.push(text);
    at = end;
  }
  return out;
}
