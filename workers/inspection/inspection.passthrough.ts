/**
 * Content inspection of a passthrough LLM call's request (docs/detections.md#passthrough): a path
 * outside the endpoint table that a rule allows — a Message Batch create, a batch or fine-tuning
 * file upload, another spelling of a governed path — carries a prompt the governed reading of
 * inspection.llm.stage.ts does not see. Every text it carries (inspection.passthrough.read.ts) is
 * scanned as `prompt`:
 *   block   refuses the call, as a governed prompt's block does (`content_blocked`);
 *   redact  in a body that is one JSON value: the value is replaced by its placeholder and the
 *           body forwarded is the serialization of the rewritten value (as a governed body is);
 *           in a form's text field (multipart or URL-encoded; forwarded as the gateway re-encodes
 *           the entries it parsed): the field's value is replaced and the form re-encoded
 *           (inspection.passthrough.mask.ts); anywhere else (a file part, JSON lines or text sent
 *           as the body, the query, a part's name or filename, a field's name, a `model` or
 *           `purpose` field the gateway decides on: bytes forwarded as they are, or values the
 *           decision read) it cannot be masked, so the call is refused (`inspection_unmaskable`);
 *           so is a redaction the gateway could not make whole (a key, or a string with more
 *           values of one rule than a scan reports);
 *   alert, log  recorded.
 * Findings are recorded as the governed prompt's are, under their location. A request stage of the
 * LLM adapter, beside inspection.llm.stage.ts `inspectLlmRequest` (which reads governed endpoints
 * only) and before the governed system prompt is added. Pure.
 */
import type { Finding as CallFinding, StageCall, UnitDecision } from '../gateway/gateway.stages';
import { AppError } from '../lib/errors';
import { DEFAULT_LIMITS, type Finding } from './inspection.engine';
import {
  blockedError,
  blockingFinding,
  MAX_RECORDED_FINDINGS,
  recordFindings,
  reportedLocation,
  truncatedFinding,
  under,
} from './inspection.findings';
import { scanJsonValue } from './inspection.json.js';
import {
  type FieldToMask,
  fieldUnmaskable,
  maskedMultipart,
  maskedUrlencoded,
  maskFields,
} from './inspection.passthrough.mask';
import {
  type InspectableBody,
  MAX_INSPECTED_BYTES,
  MAX_INSPECTED_DEPTH,
  type Piece,
  passthroughPieces,
  tooLarge,
} from './inspection.passthrough.read';
import { createRedactionSession, keyCollision, redactJson } from './inspection.redact';
import type { CallInspection } from './inspection.types';

/** What the stage reads of a passthrough unit (llm.adapter.ts `LlmUnit`). */
export interface PassthroughUnit {
  endpoint: string;
  /**
   * `form`: a multipart form's parsed entries (llm.adapter.ts); `reencode`: set when its text fields
   * were masked — the adapter re-encodes `form` (its new boundary) instead of forwarding `raw`.
   */
  forwarded?: { target: string; raw: Uint8Array | null; form?: FormData; reencode?: true };
  /** Prepared by the adapter when the connection inspects content. */
  inspectable?: InspectableBody;
}

export interface PassthroughVerdict {
  findings: CallFinding[];
  refusal: AppError | null;
  /** The body to forward instead of the caller's (a redacted JSON body or URL-encoded form), or null. */
  forward: Uint8Array | null;
  /** A multipart form's masked text fields, by entry position (the form is re-encoded), or null. */
  formFields: Map<number, string> | null;
}

/** The walk's bounds for one JSON text: the body's (counted before, inspection.passthrough.read.ts). */
const WALK = {
  ...DEFAULT_LIMITS,
  // The body's strings are counted before (MAX_INSPECTED_STRINGS); its other values cost no scan.
  maxJsonNodes: Number.MAX_SAFE_INTEGER,
  maxJsonDepth: MAX_INSPECTED_DEPTH,
  maxJsonChars: MAX_INSPECTED_BYTES,
};

/** A read refusal's `path` (`part <name>`: a name can be caller text, a secret) as reported. */
function reportedPath(inspection: CallInspection, err: AppError): AppError {
  const details = err.details as Record<string, unknown> | undefined;
  if (typeof details?.path !== 'string') return err;
  const path = reportedLocation(inspection.engine, 'prompt', details.path);
  if (path === details.path) return err;
  return new AppError(err.code, {
    message: err.message,
    details: { ...details, path },
    headers: err.headers,
  });
}

function unmaskable(f: Finding, location: string): AppError {
  return new AppError('inspection_unmaskable', {
    message: `Refused by content inspection: rule ${f.ruleId} (${f.category}) matched a value to redact where the gateway cannot mask it (a file, a name, the query, or a value the call was decided on)`,
    details: { ruleId: f.ruleId, category: f.category, severity: f.severity, where: 'prompt', location },
  });
}

/** Scans one piece: findings with locations under the piece (a JSON string's path, or none). */
function scanPiece(inspection: CallInspection, piece: Piece): Finding[] {
  const { engine } = inspection;
  if (piece.kind === 'text') return engine.scan(piece.text, 'prompt');
  let limited = false;
  const found = scanJsonValue(piece.value, WALK, {
    text: (s) => engine.scan(s, 'prompt'),
    limit: () => {
      limited = true;
      return [];
    },
  });
  // Counted against the same bounds before: reaching one here is a bug, and refused as one.
  if (limited) throw tooLarge('Content inspection could not read the whole request body', {});
  return found;
}

/**
 * Why the redactions of the body's JSON value cannot be made whole, or null: a key (not
 * rewritten), or a string where a rule found as many values as one scan reports (more may be left).
 */
function unmaskableIn(masked: readonly Finding[]): Finding | null {
  const perString = new Map<string, number>();
  for (const f of masked) {
    // `more`: the rule reached its cap in this string (also when decoded spans folded its findings).
    if (f.more || f.location?.includes('~key')) return f;
    const key = `${f.location}\n${f.ruleId}`;
    const n = (perString.get(key) ?? 0) + 1;
    if (n >= DEFAULT_LIMITS.maxFindingsPerRule) return f;
    perString.set(key, n);
  }
  return null;
}

export function inspectPassthrough(
  inspection: CallInspection,
  unit: PassthroughUnit,
  index: number,
): PassthroughVerdict {
  const raw = unit.forwarded?.raw ?? null;
  const verdict: PassthroughVerdict = { findings: [], refusal: null, forward: null, formFields: null };
  if (!unit.inspectable) {
    // The adapter prepares every passthrough body of an inspected connection: one it did not is
    // not passed unread.
    verdict.refusal = new AppError('internal', { internal: 'passthrough body not prepared for inspection' });
    return verdict;
  }
  let pieces: ReturnType<typeof passthroughPieces>;
  try {
    pieces = passthroughPieces(raw, unit.inspectable);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    verdict.refusal = reportedPath(inspection, err);
    return verdict;
  }
  // Each finding with its whole location (for the refusal), and the body value's own `redact` ones.
  const all: Finding[] = [];
  const masked: Finding[] = [];
  // A form's text fields with `redact` findings, and those findings with their whole locations.
  const fields: FieldToMask[] = [];
  const fieldFindings: Finding[] = [];
  let elsewhere: Finding | null = null;
  let recorded = 0;
  let omitted = 0;
  for (const piece of pieces.pieces) {
    const found = scanPiece(inspection, piece);
    if (found.length === 0) continue;
    const room = Math.max(0, MAX_RECORDED_FINDINGS - recorded);
    if (room > 0)
      verdict.findings.push(
        ...recordFindings(inspection, found.slice(0, room), 'prompt', index, piece.prefix),
      );
    inspection.found.push(...found.slice(room));
    recorded += Math.min(room, found.length);
    omitted += Math.max(0, found.length - room);
    const body = pieces.json !== null && piece.kind === 'json' && piece.value === pieces.json.value;
    const field = piece.kind === 'text' ? piece.field : undefined;
    const toMask: Finding[] = [];
    for (const f of found) {
      const whole = { ...f, location: under(piece.prefix, f.location) };
      all.push(whole);
      if (f.action !== 'redact') continue;
      if (body) masked.push(f);
      else if (field) {
        toMask.push(f);
        fieldFindings.push(whole);
      } else elsewhere ??= whole;
    }
    if (field && piece.kind === 'text' && toMask.length > 0) {
      const entry = { field, text: piece.text, found: toMask };
      const stuck = fieldUnmaskable(entry);
      if (stuck) elsewhere ??= { ...stuck, location: under(piece.prefix, stuck.location) };
      fields.push(entry);
    }
  }
  if (omitted > 0) verdict.findings.push(truncatedFinding(inspection, omitted));
  const block = blockingFinding(all);
  if (block) {
    verdict.refusal = blockedError(inspection.engine, block, 'prompt', block.location ?? 'body');
    return verdict;
  }
  const partial = elsewhere ?? unmaskableIn(masked) ?? unmaskableIn(fieldFindings);
  if (partial) {
    verdict.refusal = unmaskable(
      partial,
      reportedLocation(inspection.engine, 'prompt', partial.location ?? 'body'),
    );
    return verdict;
  }
  if (masked.length > 0 && pieces.json) {
    inspection.session ??= createRedactionSession();
    const engine = inspection.engine;
    const rewritten = redactJson(pieces.json.value, masked, inspection.session, {
      refuse: (f, location) => keyCollision(f, reportedLocation(engine, 'prompt', location)),
    });
    verdict.forward = new TextEncoder().encode(JSON.stringify(rewritten));
  }
  if (fields.length > 0) {
    inspection.session ??= createRedactionSession();
    const values = maskFields(fields, inspection.session);
    // A URL-encoded form is re-encoded here; a multipart one by the adapter (the runtime's encoding).
    if (pieces.fields) verdict.forward = maskedUrlencoded(pieces.fields, values);
    else verdict.formFields = values;
  }
  return verdict;
}

/** The request stage: each passthrough unit of a call on an inspected connection. */
export function inspectPassthroughRequest<U extends PassthroughUnit>(
  call: StageCall,
  decisions: UnitDecision<U>[],
): UnitDecision<U>[] {
  const inspection = call.inspection;
  if (!inspection) return decisions;
  return decisions.map((d, index) => {
    // Every passthrough unit (one not prepared is refused), and a transcription upload the adapter
    // prepared (llm.adapter.ts READ_WHOLE).
    if (d.refusal || (d.unit.endpoint !== 'passthrough' && !d.unit.inspectable)) return d;
    const { findings, refusal: refused, forward, formFields } = inspectPassthrough(inspection, d.unit, index);
    let refusal = refused;
    // What is forwarded is `forwarded.raw` (llm.adapter.ts forwardBody): the placeholders go out.
    if (forward && d.unit.forwarded) d.unit.forwarded = { ...d.unit.forwarded, raw: forward };
    // A multipart form's masked fields: the form forwarded (and bound by an approval) is the masked one.
    if (formFields && !refusal) {
      const form = d.unit.forwarded?.form;
      if (form && d.unit.forwarded)
        d.unit.forwarded = {
          ...d.unit.forwarded,
          form: maskedMultipart(form, formFields),
          raw: null,
          reencode: true,
        };
      else refusal = new AppError('internal', { internal: 'masked form fields without a parsed form' });
    }
    if (findings.length === 0 && !refusal) return d;
    return { ...d, findings: [...(d.findings ?? []), ...findings], refusal };
  });
}
