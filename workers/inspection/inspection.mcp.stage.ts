/**
 * Content inspection on MCP calls (docs/detections.md), two stages of the call core:
 *
 *   inspectMcpRequest   request stage: the params of `tools/call` (arguments), `resources/read`
 *                       (the URI) and `prompts/get` (arguments) are scanned (`where: args`), and so
 *                       is what the client answers a server request with — a response's `result`
 *                       (a sampling result is LLM output, an elicitation result user input), or its
 *                       `error` (message and data). A `block` finding refuses the message before the
 *                       guard forwards it — a JSON-RPC error naming the rule and category (for a
 *                       response: an HTTP error status, no body); every finding is attached to the
 *                       message's audit row.
 *   mcpResultStage      response stage: each JSON-RPC result (a JSON body, a batch item, an SSE
 *                       event) is scanned (`where: result`), and so is a JSON-RPC error's message
 *                       and data (inspection.rpc-error.ts, at `$.error…`). `block` replaces the
 *                       answer with the gateway's JSON-RPC error; `redact` masks the values (when
 *                       the connection's `redactResults` is on) before the agent sees them;
 *                       `alert` / `log` are recorded. A server request or notification has its
 *                       `params` read the same way (inspection.mcp.server-messages.ts; a `block`
 *                       there refuses the rest of the answer).
 * Pure: the engine was loaded before them (inspection.load.ts, via `call.inspection`).
 */
import type { JsonRpcMessage } from '../gateway/gateway.jsonrpc';
import type { RequestStage, ResponseStage, StageCall } from '../gateway/gateway.stages';
import { AppError, jsonRpcErrorBody } from '../lib/errors';
import { isRecord } from '../lib/values';
import { blockedError, blockingFinding, recordFindings, under } from './inspection.findings';
import { inspectServerMessage } from './inspection.mcp.server-messages';
import { createRedactionSession, redactJson } from './inspection.redact';
import { maskingHooks } from './inspection.redact.complete';
import { inspectRpcError, mayHaveAnyKey, rpcErrorOf } from './inspection.rpc-error';

const INSPECTED_METHODS = new Set(['tools/call', 'resources/read', 'prompts/get']);
/** What the response stage reads: a result, an error, a server message's params (first the commonest). */
const ANSWER_KEYS = ['result', 'error', 'params'] as const;

export const inspectMcpRequest: RequestStage<JsonRpcMessage> = (call, decisions) => {
  const inspection = call.inspection;
  if (!inspection) return decisions;
  return decisions.map((d, unit) => {
    if (d.refusal) return d;
    const target = inspectedPart(d.unit);
    if (!target) return d;
    const found = inspection.engine.scanJson(target.value, 'args');
    if (found.length === 0) return d;
    const findings = [...(d.findings ?? []), ...recordFindings(inspection, found, 'args', unit, target.path)];
    const block = blockingFinding(found);
    if (!block) return { ...d, findings };
    return {
      ...d,
      findings,
      refusal: blockedError(inspection.engine, block, 'args', under(target.path, block.location)),
    };
  });
};

/** What a client message carries to the upstream that is scanned: call params, or a response's answer. */
function inspectedPart(message: JsonRpcMessage): { value: unknown; path: string } | null {
  if (typeof message.method === 'string') {
    if (!INSPECTED_METHODS.has(message.method) || message.params === undefined) return null;
    return { value: message.params, path: '$.params' };
  }
  if ('result' in message && message.result !== undefined) return { value: message.result, path: '$.result' };
  if (isRecord(message.error)) {
    const { message: text, data } = message.error;
    return { value: { message: text, data }, path: '$.error' };
  }
  return null;
}

/** The response stage of one MCP call, or null when the connection inspects nothing. */
export function mcpResultStage(
  call: StageCall,
  units: readonly JsonRpcMessage[] | null,
): ResponseStage | null {
  const inspection = call.inspection;
  if (!inspection) return null;
  // Which audit row (unit) a response belongs to: the request with its id.
  const unitOf = (id: unknown) => {
    const at = units?.findIndex((u) => u.id !== undefined && u.id === id) ?? -1;
    return Math.max(at, 0);
  };
  const session = createRedactionSession();
  /** The message with its result scanned: a replacement (`final` when it is the gateway's refusal). */
  const inspectResult = (
    message: Record<string, unknown>,
    id: string | number | null,
    unit: number,
  ): { message: Record<string, unknown>; final: boolean } | null => {
    const found = inspection.engine.scanJson(message.result, 'result');
    if (found.length === 0) return null;
    call.findings.push(...recordFindings(inspection, found, 'result', unit, '$.result'));
    const block = blockingFinding(found);
    if (block) {
      const err = blockedError(inspection.engine, block, 'result', under('$.result', block.location));
      return { message: { ...jsonRpcErrorBody(err, id, call.identity.traceId) }, final: true };
    }
    const masked = inspection.redactResults ? found.filter((f) => f.action === 'redact') : [];
    if (masked.length === 0) return null;
    try {
      // Every value masked, however many (a rule past its cap is scanned again), keys renamed.
      const hooks = maskingHooks(inspection.engine, 'result', '$.result');
      return {
        message: { ...message, result: redactJson(message.result, masked, session, hooks) },
        final: false,
      };
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      return { message: { ...jsonRpcErrorBody(err, id, call.identity.traceId) }, final: true };
    }
  };
  return {
    name: 'inspection',
    wants: (raw) => mayHaveAnyKey(raw, ANSWER_KEYS),
    onMessage(message) {
      if (!isRecord(message)) return undefined;
      const fromServer = typeof message.method === 'string';
      const hasResult = 'result' in message && message.result !== undefined;
      const error = rpcErrorOf(message);
      // The hot path: a message with none of them costs three key lookups.
      if (!fromServer && !hasResult && !error) return undefined;
      // A message mixing them is not JSON-RPC, but a client may read any part: each part is read.
      let current: Record<string, unknown> = message;
      // A server request or notification: its params (inspection.mcp.server-messages.ts; a block throws).
      if (fromServer)
        current = (inspectServerMessage(call, message, 0, session) as typeof current) ?? current;
      const id = (message.id ?? null) as string | number | null;
      const unit = fromServer ? 0 : unitOf(id);
      if (hasResult) {
        const scanned = inspectResult(current, id, unit);
        if (scanned?.final) return scanned.message;
        current = scanned?.message ?? current;
      }
      // A JSON-RPC error in a 2xx answer (inspection.rpc-error.ts): scanned as a result is.
      const out = error ? inspectRpcError(call, current, error, unit, session) : undefined;
      return out ?? (current === message ? undefined : current);
    },
  };
}
