/**
 * Content inspection on LLM calls (docs/detections.md), two stages of the call core:
 *
 *   inspectLlmRequest  request stage: the prompt — `messages` (every turn, tool results fed back,
 *                      Anthropic content blocks), `system`, Responses `input` / `instructions`,
 *                      legacy `prompt` — is scanned (`where: prompt`). A `block` finding refuses
 *                      the call (403 in the provider's shape); `redact` findings are replaced in the
 *                      body that is forwarded by typed placeholders (`[EMAIL_1]`), the same value
 *                      getting the same placeholder within the request.
 *   llmAnswerStage     response stage: placeholders in the answer are restored to the originals —
 *                      a JSON body whole, a stream delta by delta, holding back only the tail of a
 *                      delta that could still be the start of a placeholder (inspection.unmask.ts);
 *                      the completion text is scanned (`where: completion`) and its findings recorded.
 * The placeholder mapping lives in `call.inspection.session`, i.e. only as long as the call; it
 * is never logged, stored or sent anywhere but back to this caller. Pure.
 */
import type { ResponseStage, StageCall, UnitDecision } from '../gateway/gateway.stages';
import { isRecord } from '../lib/values';
import type { Finding } from './inspection.engine';
import { blockedError, blockingFinding, recordFindings, under } from './inspection.findings';
import { createRedactionSession, redactJson } from './inspection.redact';
import { createUnmasker, type Unmasker, unmask } from './inspection.unmask';

/** The request fields that carry the prompt, across the OpenAI and Anthropic endpoints. */
const PROMPT_FIELDS = ['messages', 'system', 'input', 'instructions', 'prompt'] as const;
/** Completion text kept for the scan at the answer's end. */
const MAX_COMPLETION_CHARS = 256 * 1024;

/** What the request stage reads and rewrites of an LLM unit (llm.adapter.ts `LlmUnit`). */
export interface PromptUnit {
  endpoint: string;
  body: Record<string, unknown> | null;
}

export function inspectLlmRequest<U extends PromptUnit>(
  call: StageCall,
  decisions: UnitDecision<U>[],
): UnitDecision<U>[] {
  const inspection = call.inspection;
  if (!inspection) return decisions;
  return decisions.map((d, unit) => {
    const body = d.unit.body;
    if (d.refusal || !body || d.unit.endpoint === 'passthrough') return d;
    const findings = [...(d.findings ?? [])];
    let refusal = null;
    let rewritten: Record<string, unknown> | null = null;
    for (const field of PROMPT_FIELDS) {
      const value = body[field];
      if (value === undefined || value === null) continue;
      const found = inspection.engine.scanJson(value, 'prompt');
      if (found.length === 0) continue;
      const prefix = `$.${field}`;
      findings.push(...recordFindings(inspection, found, 'prompt', unit, prefix));
      const block = blockingFinding(found);
      if (block && !refusal) refusal = blockedError(block, 'prompt', under(prefix, block.location));
      const masked = found.filter((f) => f.action === 'redact');
      if (masked.length === 0) continue;
      inspection.session ??= createRedactionSession();
      rewritten ??= { ...body };
      rewritten[field] = redactJson(value, masked, inspection.session);
    }
    if (findings.length === (d.findings?.length ?? 0)) return d;
    // What is forwarded is the unit's body (llm.adapter.ts forwardBody): the placeholders go out.
    if (rewritten && !refusal) d.unit.body = rewritten;
    return { ...d, findings, refusal: d.refusal ?? refusal };
  });
}

/** The answer's stage for one LLM call, or null when the connection inspects nothing. */
export function llmAnswerStage(call: StageCall): ResponseStage | null {
  const inspection = call.inspection;
  if (!inspection) return null;
  const mapping: ReadonlyMap<string, string> = inspection.session?.mapping ?? new Map();
  const restoring = mapping.size > 0;
  const unmaskers = new Map<string, Unmasker>();
  let completion = '';
  let scanned = false;

  /** A streamed delta with its placeholders restored (the tail that may be one is held back). */
  const push = (key: string, text: string): string => {
    if (completion.length < MAX_COMPLETION_CHARS) completion += text;
    if (!restoring) return text;
    let u = unmaskers.get(key);
    if (!u) {
      u = createUnmasker(mapping);
      unmaskers.set(key, u);
    }
    return u.push(text);
  };
  const flush = (key: string): string => {
    const u = unmaskers.get(key);
    unmaskers.delete(key);
    return u ? u.flush() : '';
  };
  /** The completion so far is scanned once, when the answer says it has ended. */
  const scanCompletion = () => {
    if (scanned || completion.length === 0) return;
    scanned = true;
    const found: Finding[] = inspection.engine.scan(completion, 'completion');
    if (found.length > 0)
      call.findings.push(...recordFindings(inspection, found, 'completion', 0, '$.completion'));
  };

  return {
    name: 'inspection',
    onMessage(message) {
      if (!isRecord(message)) return undefined;
      let changed = false;
      if (message.object === 'chat.completion.chunk')
        changed = openAiChunk(message, push, flush, scanCompletion);
      else if (typeof message.type === 'string' && message.type.startsWith('content_block'))
        changed = anthropicEvent(message, push, flush);
      else if (message.type === 'response.output_text.delta' && typeof message.delta === 'string') {
        const restored = push(`r${String(message.item_id)}:${String(message.content_index)}`, message.delta);
        changed = restored !== message.delta;
        message.delta = restored;
      } else {
        // A whole answer (chat.completion, Anthropic message, Responses response) or any other
        // event: its text is the completion, complete placeholders anywhere in it are restored.
        // (A stream's closing summary repeats what its deltas said: its text is taken only once.)
        if (completion.length === 0)
          completion = answerTexts(message).join('\n').slice(0, MAX_COMPLETION_CHARS);
        if (isFinal(message)) scanCompletion();
        if (restoring) {
          const [value, restored] = unmaskDeep(message, mapping);
          if (restored) return value;
        }
      }
      if (message.type === 'message_stop' || message.type === 'message_delta') scanCompletion();
      return changed ? message : undefined;
    },
  };
}

type Push = (key: string, text: string) => string;
type Flush = (key: string) => string;

/** An OpenAI chat chunk: each choice's `delta.content` and tool-call arguments restored in place. */
function openAiChunk(chunk: Record<string, unknown>, push: Push, flush: Flush, ended: () => void): boolean {
  let changed = false;
  const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
  for (const choice of choices) {
    if (!isRecord(choice)) continue;
    const key = `c${String(choice.index ?? 0)}`;
    const delta = isRecord(choice.delta) ? choice.delta : null;
    if (delta && typeof delta.content === 'string') {
      const restored = push(key, delta.content);
      changed ||= restored !== delta.content;
      delta.content = restored;
    }
    const calls = delta && Array.isArray(delta.tool_calls) ? delta.tool_calls : [];
    for (const call of calls) {
      const fn = isRecord(call) && isRecord(call.function) ? call.function : null;
      if (!fn || typeof fn.arguments !== 'string') continue;
      const restored = push(`${key}t${String((call as { index?: unknown }).index ?? 0)}`, fn.arguments);
      changed ||= restored !== fn.arguments;
      fn.arguments = restored;
    }
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
      // The answer ended: release what was held back as the last words of this chunk.
      const rest = flush(key);
      if (rest) {
        const d: Record<string, unknown> = isRecord(choice.delta) ? choice.delta : {};
        d.content = `${typeof d.content === 'string' ? d.content : ''}${rest}`;
        choice.delta = d;
        changed = true;
      }
      ended();
    }
  }
  return changed;
}

/**
 * An Anthropic stream event: `text_delta` text and `input_json_delta` JSON restored. A block's
 * held-back tail (only ever an unfinished placeholder's beginning) is released with the block's
 * last delta; at `content_block_stop` there is no text field left to carry it, so a tail still
 * held then — a placeholder cut off by the end of the block — is dropped.
 */
function anthropicEvent(event: Record<string, unknown>, push: Push, flush: Flush): boolean {
  const key = `a${String(event.index ?? 0)}`;
  if (event.type === 'content_block_stop') {
    flush(key);
    return false;
  }
  if (event.type !== 'content_block_delta' || !isRecord(event.delta)) return false;
  const delta = event.delta;
  const field =
    delta.type === 'text_delta' ? 'text' : delta.type === 'input_json_delta' ? 'partial_json' : null;
  if (!field || typeof delta[field] !== 'string') return false;
  const before = delta[field] as string;
  const restored = push(key, before);
  delta[field] = restored;
  return restored !== before;
}

/** The assistant text of a whole answer (chat.completion, Anthropic message, Responses response). */
function answerTexts(message: Record<string, unknown>): string[] {
  const out: string[] = [];
  const take = (v: unknown) => {
    if (typeof v === 'string') out.push(v);
  };
  if (Array.isArray(message.choices))
    for (const c of message.choices) if (isRecord(c) && isRecord(c.message)) take(c.message.content);
  if (message.type === 'message' && Array.isArray(message.content))
    for (const block of message.content) if (isRecord(block)) take(block.text);
  const response =
    message.object === 'response' ? message : isRecord(message.response) ? message.response : null;
  if (response && Array.isArray(response.output))
    for (const item of response.output)
      if (isRecord(item) && Array.isArray(item.content))
        for (const part of item.content) if (isRecord(part)) take(part.text);
  return out;
}

function isFinal(message: Record<string, unknown>): boolean {
  return (
    message.object === 'chat.completion' ||
    message.type === 'message' ||
    message.object === 'response' ||
    message.type === 'response.completed'
  );
}

/** Every string in a JSON value with its complete placeholders restored; [value, changed]. */
function unmaskDeep(value: unknown, mapping: ReadonlyMap<string, string>): [unknown, boolean] {
  if (typeof value === 'string') {
    if (!value.includes('[')) return [value, false];
    const restored = unmask(value, mapping);
    return [restored, restored !== value];
  }
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((item) => {
      const [v, c] = unmaskDeep(item, mapping);
      changed ||= c;
      return v;
    });
    return [changed ? out : value, changed];
  }
  if (isRecord(value)) {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, child] of Object.entries(value)) {
      const [v, c] = unmaskDeep(child, mapping);
      changed ||= c;
      out[k] = v;
    }
    return [changed ? out : value, changed];
  }
  return [value, false];
}
