/**
 * Content inspection on A2A calls (docs/a2a.md#detections, docs/detections.md), two stages of the
 * call core, both on the message parts that carry content — `text` and `data` parts (v1.0 `{text}`
 * / `{data}`, v0.3 `{kind: "text", text}` / `{kind: "data", data}`); files and URLs are not read:
 *
 *   inspectA2aRequest  request stage: the parts of the message a `SendMessage` /
 *                      `SendStreamingMessage` sends (`where: prompt` — a message to an agent is
 *                      read by its model). A `block` finding refuses the call with a JSON-RPC error
 *                      naming the rule; `redact` findings are replaced in the forwarded parts by
 *                      typed placeholders (`[EMAIL_1]`), which are not restored in the answer.
 *   a2aResultStage     response stage: every part of the result — a message, a task's status
 *                      message, history and artifacts, each streamed status or artifact update —
 *                      is scanned (`where: result`: what another agent says is untrusted input to
 *                      the caller), and so is a JSON-RPC error's message and data (an agent's error
 *                      to the call, plain or streamed: inspection.rpc-error.ts, at `$.error…`).
 *                      `block` replaces the answer (or the SSE event) with a JSON-RPC
 *                      error; `redact` masks the values when the connection's `redactResults` is on.
 * Pure: the engine was loaded before them (inspection.load.ts, via `call.inspection`).
 */
import type { ResponseStage, StageCall, UnitDecision } from '../gateway/gateway.stages';
import { AppError, jsonRpcErrorBody } from '../lib/errors';
import { isRecord } from '../lib/values';
import type { Finding } from './inspection.engine';
import { blockedError, blockingFinding, recordFindings, under } from './inspection.findings';
import { createRedactionSession, type RedactionSession, redactJson } from './inspection.redact';
import { maskingHooks } from './inspection.redact.complete';
import { inspectRpcError, mayHaveAnyKey, rpcErrorOf } from './inspection.rpc-error';

/** Where content sits in a part: its text, or its structured data. */
const CONTENT_KEYS = ['text', 'data'] as const;
/** How deep the walk looks for `parts` arrays in a result (task → artifacts → parts is 3). */
const MAX_DEPTH = 6;
/** Parts read per message; past it the rest passes unread (bounded work per message). */
const MAX_PARTS = 500;

interface PartContent {
  part: Record<string, unknown>;
  key: (typeof CONTENT_KEYS)[number];
  /** JSON path of the content, e.g. `$.result.artifacts[0].parts[1].text`. */
  path: string;
}

/** Every text and data content under `value` (in walk order: the same for a clone of it). */
export function partContents(value: unknown, path: string): PartContent[] {
  const out: PartContent[] = [];
  const walk = (v: unknown, at: string, depth: number) => {
    if (depth > MAX_DEPTH || out.length >= MAX_PARTS) return;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) walk(v[i], `${at}[${i}]`, depth + 1);
      return;
    }
    if (!isRecord(v)) return;
    for (const [key, child] of Object.entries(v)) {
      if (key === 'parts' && Array.isArray(child)) {
        child.forEach((part, i) => {
          if (!isRecord(part) || out.length >= MAX_PARTS) return;
          for (const k of CONTENT_KEYS) {
            if (part[k] !== undefined && part[k] !== null)
              out.push({ part, key: k, path: `${at}.parts[${i}].${k}` });
          }
        });
      } else if (typeof child === 'object' && child !== null) walk(child, `${at}.${key}`, depth + 1);
    }
  };
  walk(value, path, 0);
  return out;
}

interface Scanned {
  found: Finding[];
  /** Per content (same index as partContents), the findings in it. */
  per: Finding[][];
}

function scanContents(
  call: StageCall,
  contents: readonly PartContent[],
  where: 'prompt' | 'result',
): Scanned | null {
  const inspection = call.inspection!;
  const per: Finding[][] = [];
  const found: Finding[] = [];
  for (const c of contents) {
    const hits = inspection.engine.scanJson(c.part[c.key], where).map((f) => ({
      ...f,
      // Locations relative to the content (`$`, `$.field`), kept for redactJson; the recorded
      // location is rewritten under the content's own path.
      location: f.location ?? '$',
    }));
    per.push(hits);
    found.push(...hits.map((f) => ({ ...f, location: under(c.path, f.location) })));
  }
  return found.length > 0 ? { found, per } : null;
}

/**
 * Masks the `redact` findings of each content in place (the contents are of an object we own): every
 * value, however many (a rule past its cap is scanned again), keys renamed. Throws
 * `inspection_unmaskable` for what cannot be masked whole.
 */
function maskContents(
  call: StageCall,
  contents: readonly PartContent[],
  per: readonly Finding[][],
  session: RedactionSession,
  where: 'prompt' | 'result',
) {
  const engine = call.inspection!.engine;
  contents.forEach((c, i) => {
    const masked = (per[i] ?? []).filter((f) => f.action === 'redact');
    if (masked.length === 0) return;
    c.part[c.key] = redactJson(c.part[c.key], masked, session, maskingHooks(engine, where, c.path));
  });
}

const SENDS = new Set(['SendMessage', 'SendStreamingMessage']);
/** What the response stage reads: a result's parts, or a JSON-RPC error. */
const ANSWER_KEYS = ['parts', 'error'] as const;

/** The A2A fields the request stage reads (a2a.stages.ts `A2aUnit`). */
interface SendUnit {
  canonical: string | null;
  message: { params?: unknown };
}

export function inspectA2aRequest<U extends SendUnit>(
  call: StageCall,
  decisions: UnitDecision<U>[],
): UnitDecision<U>[] {
  const inspection = call.inspection;
  if (!inspection) return decisions;
  return decisions.map((d, unit) => {
    const params = d.unit.message.params;
    if (d.refusal || !SENDS.has(d.unit.canonical ?? '') || !isRecord(params)) return d;
    const contents = partContents({ message: params.message }, '$.params');
    const scanned = scanContents(call, contents, 'prompt');
    if (!scanned) return d;
    const findings = [
      ...(d.findings ?? []),
      ...recordFindings(inspection, scanned.found, 'prompt', unit, '$'),
    ];
    const block = blockingFinding(scanned.found);
    if (block)
      return {
        ...d,
        findings,
        refusal: blockedError(inspection.engine, block, 'prompt', block.location ?? '$.params'),
      };
    // What is forwarded is the unit's message (a2a.adapter.ts forwardBody): placeholders go out.
    inspection.session ??= createRedactionSession();
    try {
      maskContents(call, contents, scanned.per, inspection.session, 'prompt');
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return { ...d, findings, refusal: err };
    }
    return { ...d, findings };
  });
}

/** The response stage of one A2A call, or null when the connection inspects nothing. */
export function a2aResultStage(call: StageCall): ResponseStage | null {
  const inspection = call.inspection;
  if (!inspection) return null;
  const session = createRedactionSession();
  /** The message with its result's parts scanned: a replacement, or undefined to keep it. */
  const inspectResult = (message: Record<string, unknown>): unknown => {
    const scanned = scanContents(call, partContents(message.result, '$.result'), 'result');
    if (!scanned) return undefined;
    call.findings.push(...recordFindings(inspection, scanned.found, 'result', 0, '$'));
    const id = (message.id ?? null) as string | number | null;
    const block = blockingFinding(scanned.found);
    if (block) {
      const err = blockedError(inspection.engine, block, 'result', block.location ?? '$.result');
      return jsonRpcErrorBody(err, id, call.identity.traceId);
    }
    if (!inspection.redactResults || !scanned.found.some((f) => f.action === 'redact')) return undefined;
    // The same walk over a copy finds the same contents in the same order.
    const copy = structuredClone(message);
    try {
      maskContents(call, partContents(copy.result, '$.result'), scanned.per, session, 'result');
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return jsonRpcErrorBody(err, id, call.identity.traceId);
    }
    return copy;
  };
  return {
    name: 'inspection',
    wants: (raw) => mayHaveAnyKey(raw, ANSWER_KEYS),
    onMessage(message) {
      if (!isRecord(message)) return undefined;
      // A JSON-RPC error in a 2xx answer, plain or streamed (inspection.rpc-error.ts). A message with
      // both an error and a result is not JSON-RPC, but a client may read either: both are scanned.
      const error = rpcErrorOf(message);
      const afterError = error
        ? (inspectRpcError(call, message, error, 0, session) as Record<string, unknown> | undefined)
        : undefined;
      const current = afterError ?? message;
      if (current.result === undefined) return afterError;
      return inspectResult(current) ?? afterError;
    },
  };
}
