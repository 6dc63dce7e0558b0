/**
 * Masking a passthrough form's text fields (docs/detections.md#passthrough). Pure.
 *
 * A form is forwarded as the gateway's own re-encoding of the entries it parsed (llm.form-read.ts),
 * never as the caller's bytes: so a text field's value can be replaced by its placeholder and the
 * form re-encoded — a URL-encoded one here (its encoding is synchronous and has no randomness), a
 * multipart one by the adapter before it is forwarded (the runtime serializes it, under a fresh
 * boundary: llm.adapter.ts forwardBody). What cannot be masked faithfully stays refused
 * (`inspection_unmaskable`): a field's name (a URL-encoded field is scanned as `name=value`), a
 * part's name or filename, a file part (its bytes are forwarded as they came), and a field the
 * gateway decides on — `model` (allowedModels, the transcription's model) and `purpose` (a batch
 * upload): a masked one would forward another value than the one decided.
 */
import { reencodeUrlencoded } from '../llm/llm.form-reencode';
import type { Finding } from './inspection.engine';
import type { FieldRef } from './inspection.passthrough.read';
import { type RedactionSession, redact } from './inspection.redact';

/** Fields whose value the gateway reads to decide (llm.passthrough-model.ts, llm.batch-models.ts). */
const DECIDED_FIELDS: ReadonlySet<string> = new Set(['model', 'purpose']);

/** A field's text and its `redact` findings, to mask. */
export interface FieldToMask {
  field: FieldRef;
  text: string;
  found: Finding[];
}

/** The finding in `f` that the field cannot have masked (its name, a decided field), or null. */
export function fieldUnmaskable({ field, found }: FieldToMask): Finding | null {
  if (DECIDED_FIELDS.has(field.name.trim().toLowerCase())) return found[0] ?? null;
  return found.find((f) => f.start < field.offset) ?? null;
}

/** Each field's masked value, by the entry's position in the form. */
export function maskFields(fields: readonly FieldToMask[], session: RedactionSession): Map<number, string> {
  const out = new Map<number, string>();
  for (const { field, text, found } of fields)
    out.set(field.index, redact(text, found, session).text.slice(field.offset));
  return out;
}

/**
 * A URL-encoded form's body with its masked values. Not held to the connection's body limit: a
 * placeholder is at most a few characters longer than the value it stands for, as in a masked JSON
 * body (which is not held either).
 */
export function maskedUrlencoded(
  entries: ReadonlyArray<[string, string]>,
  masked: ReadonlyMap<number, string>,
): Uint8Array {
  const out = entries.map(([name, value], i) => [name, masked.get(i) ?? value] as [string, string]);
  return reencodeUrlencoded(out, Number.MAX_SAFE_INTEGER).bytes;
}

/** A multipart form with its masked text fields, every other entry as it was (files keep name and type). */
export function maskedMultipart(form: FormData, masked: ReadonlyMap<number, string>): FormData {
  const out = new FormData();
  let i = 0;
  for (const [name, value] of form.entries()) {
    const replaced = masked.get(i++);
    if (replaced !== undefined) out.append(name, replaced);
    else if (typeof value === 'string') out.append(name, value);
    else out.append(name, value as File, (value as File).name);
  }
  return out;
}
