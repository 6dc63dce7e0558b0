/**
 * Content inspection of a JSON-RPC `error` object inside a 2xx answer (docs/detections.md#error-answers):
 * an MCP server's or an A2A agent's error to one request — a plain JSON answer, a batch item, an SSE
 * event — whose `message` or `data` echoes what it failed on (a key, a card, the record). The HTTP
 * status says success, so inspection.error-answer.ts (4xx/5xx bodies) never sees it; the MCP and A2A
 * result stages call this for each message that carries an `error` instead of a `result`.
 *
 * Read as a result is (`where: result`: it is the upstream's answer to the call, with the same
 * trust and the same rules), with the same engine limits and finding caps: `error.message` and every
 * string (and key of 8+ characters) in `error.data`, found at `$.error.message` / `$.error.data…`.
 * `error.code` is a number and is not read.
 *
 *   block   the error is replaced by the gateway's own JSON-RPC error (`content_blocked`, -32014)
 *           with the request's id: the upstream's message and data do not reach the caller.
 *   redact  with the connection's `redactResults` on, the values are masked in place (typed
 *           placeholders, every value however many: inspection.redact.complete.ts); the code and
 *           any other member of the error object pass as they came. A value that cannot be masked
 *           whole refuses the error as `inspection_unmaskable`.
 *   alert / log  recorded only.
 *
 * Pure; the message was parsed by the rewriter for the stage (no parse of its own).
 */
import type { StageCall } from '../gateway/gateway.stages';
import { AppError, jsonRpcErrorBody } from '../lib/errors';
import { hasAsciiEscape } from '../lib/json.keys';
import { isRecord } from '../lib/values';
import { blockedError, blockingFinding, recordFindings, under } from './inspection.findings';
import { type RedactionSession, redactJson } from './inspection.redact';
import { maskingHooks } from './inspection.redact.complete';

/** Where an error's findings are reported: `$.error.message`, `$.error.data.detail`. */
const AT = '$.error';

/**
 * The JSON-RPC error object of a message, or null when it carries none. A message with both a
 * result and an error is not JSON-RPC, but a client may read either: both are scanned.
 */
export function rpcErrorOf(message: Record<string, unknown>): Record<string, unknown> | null {
  return isRecord(message.error) ? message.error : null;
}

/**
 * Scans `error` (the error object of `message`), records its findings under `unit`'s audit row, and
 * returns the message to send instead — the gateway's refusal, or a copy with the values masked —
 * or undefined to send it as it came.
 */
export function inspectRpcError(
  call: StageCall,
  message: Record<string, unknown>,
  error: Record<string, unknown>,
  unit: number,
  session: RedactionSession,
): unknown {
  const inspection = call.inspection;
  if (!inspection) return undefined;
  // Only what the error says in words: its message and data (present keys only, so a masked copy
  // adds none).
  const read: Record<string, unknown> = {};
  if (error.message !== undefined) read.message = error.message;
  if (error.data !== undefined) read.data = error.data;
  const found = inspection.engine.scanJson(read, 'result');
  if (found.length === 0) return undefined;
  call.findings.push(...recordFindings(inspection, found, 'result', unit, AT));
  const id = (message.id ?? null) as string | number | null;
  const block = blockingFinding(found);
  if (block) {
    const err = blockedError(inspection.engine, block, 'result', under(AT, block.location));
    return jsonRpcErrorBody(err, id, call.identity.traceId);
  }
  const masked = inspection.redactResults ? found.filter((f) => f.action === 'redact') : [];
  if (masked.length === 0) return undefined;
  try {
    const hooks = maskingHooks(inspection.engine, 'result', AT);
    const out = redactJson(read, masked, session, hooks) as Record<string, unknown>;
    return { ...message, error: { ...error, ...out } };
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return jsonRpcErrorBody(err, id, call.identity.traceId);
  }
}

/**
 * The result stages' pre-check (json.keys.ts `mayHaveKey` for several keys): one of the keys the
 * stage reads (`"result"`, `"parts"`), `"error"`, `"params"`…, or an escape that could spell one.
 * An answer with the first key costs what it did (one native search); one with none of them a
 * native search per key more.
 */
export function mayHaveAnyKey(raw: string, keys: readonly string[]): boolean {
  for (const key of keys) if (raw.includes(`"${key}"`)) return true;
  return hasAsciiEscape(raw);
}
