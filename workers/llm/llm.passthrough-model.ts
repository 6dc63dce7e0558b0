/**
 * The model a passthrough call names (pure, no I/O), for a connection's `allowedModels`.
 *
 * A passthrough body is forwarded as sent (a form as the gateway's re-encoding of the entries read
 * here: workers/gateway/llm.form-read.ts) and never parsed for the policy, so its model used to be
 * unknown: with `allowedModels: ["gpt-4o-mini"]` and passthrough allowed, `POST /v1/fine_tuning/jobs
 * {"model":"gpt-4o"}` or a multipart `POST /v1/images/edits` with `model=gpt-image-1` reached the
 * provider. Where a provider would read a model — the query's `model`, a JSON object body's top-level
 * `model`, a form's `model` field — it is read the same way here and held to `allowedModels`.
 *
 * Read as the provider may read it, failing closed: a body whose first non-blank byte is `{` is
 * parsed as JSON whatever its Content-Type says (a lenient server may too); two `model` fields, a
 * file part named `model`, a `model` that is not a string, or one with invisible or blank characters
 * (governedNameFault) is `unreadable` and refused under `allowedModels`, since the provider might run
 * a model other than the one judged. Only the policy's endpoint name decides passthrough otherwise:
 * the model read here never makes a `model` rule match (a rule allowing `gpt-4o*` for chat must not
 * start allowing raw provider calls). The models of a batch — its requests, or its input file's lines —
 * are read by llm.batch-models.ts.
 */
import { isRecord, strictUtf8 } from '../lib/values';
import { governedNameFault } from '../policy/policy.methods';

export type PassthroughModel =
  | { kind: 'none' }
  | { kind: 'named'; model: string }
  /** A batch: it runs every one of these models, so each must be allowed. */
  | { kind: 'several'; models: string[] }
  | { kind: 'unreadable'; why: string };

export const NONE: PassthroughModel = { kind: 'none' };

export const unreadable = (why: string): PassthroughModel => ({ kind: 'unreadable', why });

/** One `model` value (query, JSON or form field) judged as a governed name. */
export function named(value: unknown, where: string): PassthroughModel {
  if (typeof value !== 'string') return { kind: 'unreadable', why: `${where} "model" is not text` };
  const fault = governedNameFault(value);
  return fault ? { kind: 'unreadable', why: `${where} "model" ${fault}` } : { kind: 'named', model: value };
}

/** `model` among several values of one source (query parameters, form fields). */
function oneOf(values: unknown[], where: string): PassthroughModel {
  if (values.length === 0) return NONE;
  if (values.length > 1)
    return { kind: 'unreadable', why: `${where} carries ${values.length} "model" fields` };
  return named(values[0], where);
}

/** The query's `model` (`?model=…`), as a provider's router would read it. */
export function queryModel(search: string): PassthroughModel {
  return search ? oneOf(new URLSearchParams(search).getAll('model'), 'the query') : NONE;
}

/**
 * The first byte that is not JSON whitespace is `{`: the body may be read as a JSON object. A
 * leading UTF-8 byte-order mark is skipped, as Python's `json.loads` skips it in bytes.
 */
function looksLikeJsonObject(bytes: Uint8Array): boolean {
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  for (let i = start; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d) continue;
    return byte === 0x7b;
  }
  return false;
}

/** The body as a JSON object, or null when no JSON server would read it as one. */
export function jsonObjectBody(bytes: Uint8Array): Record<string, unknown> | null {
  if (!looksLikeJsonObject(bytes)) return null;
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8(bytes));
  } catch {
    return null; // not JSON: no JSON server runs it
  }
  return isRecord(value) ? value : null;
}

/** A JSON object's top-level `model`. */
export function topLevelModel(value: Record<string, unknown>): PassthroughModel {
  return Object.hasOwn(value, 'model') ? named(value.model, 'the body') : NONE;
}

/** A JSON object body's top-level `model`; a body that is not JSON names none. */
export function jsonBodyModel(bytes: Uint8Array): PassthroughModel {
  const value = jsonObjectBody(bytes);
  return value ? topLevelModel(value) : NONE;
}

/** A form body's `model` fields (multipart or URL-encoded, already parsed). */
export function formModel(form: Pick<FormData, 'getAll'>): PassthroughModel {
  return oneOf(form.getAll('model'), 'the form');
}

/**
 * The stricter of two readings: unreadable beats named beats none; two different single names are
 * unreadable (the provider runs one of them); a batch's models add up.
 */
export function combineModels(a: PassthroughModel, b: PassthroughModel): PassthroughModel {
  if (a.kind === 'unreadable') return a;
  if (b.kind === 'unreadable') return b;
  if (a.kind === 'none') return b;
  if (b.kind === 'none') return a;
  if (a.kind === 'named' && b.kind === 'named' && a.model !== b.model)
    return unreadable('the query and the body name different models');
  return modelsFound([a, b]);
}

/** The models of several readings, each of which must be allowed (the first unreadable wins). */
export function modelsFound(found: readonly PassthroughModel[]): PassthroughModel {
  const models = new Set<string>();
  for (const m of found) {
    if (m.kind === 'unreadable') return m;
    if (m.kind === 'named') models.add(m.model);
    else if (m.kind === 'several') for (const model of m.models) models.add(model);
  }
  if (models.size === 0) return NONE;
  const [first] = models;
  return models.size === 1 ? { kind: 'named', model: first! } : { kind: 'several', models: [...models] };
}
