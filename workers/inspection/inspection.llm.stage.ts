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
 *                      every text of the answer (each choice's content and tool-call arguments,
 *                      each Anthropic block's text, thinking and tool input, each Responses output
 *                      text, function-call arguments and reasoning: inspection.answer.ts) is
 *                      scanned on its own (`where: completion`), a streamed one in bounded pieces
 *                      (inspection.streams.ts), and its findings recorded under its JSON path.
 *                      A `block` finding refuses the rest of the answer (thrown: a JSON answer is
 *                      refused whole, a stream ends at the event whose scan found it, with the
 *                      provider's error event). A whole answer is scanned after its placeholders
 *                      are restored — what is scanned is what the caller would get — and, when
 *                      `redactResults` is on, its `redact` findings are masked
 *                      (inspection.answer.mask.ts); a passing stream's are recorded only. With
 *                      `streamMode: "hold"` a stream is read whole first (gateway.hold.ts) and
 *                      its texts scanned, refused or masked at its end (inspection.hold.ts).
 * The placeholder mapping lives in `call.inspection.session`, i.e. only as long as the call; it
 * is never logged, stored or sent anywhere but back to this caller. Pure.
 */
import type { ResponseStage, StageCall, StreamHold, UnitDecision } from '../gateway/gateway.stages';
import { AppError } from '../lib/errors';
import { isRecord } from '../lib/values';
import { type AnswerTexts, answerKeys, repeatedChoice, streamEvent, wholeMessage } from './inspection.answer';
import { isWholeAnswer, maskAnswer } from './inspection.answer.mask';
import type { Finding } from './inspection.engine';
import {
  blockedError,
  blockingFinding,
  MAX_RECORDED_FINDINGS,
  recordFindings,
  truncatedFinding,
  under,
} from './inspection.findings';
import { heldMessages, type Settled, settleHeld } from './inspection.hold';
import { createRedactionSession, redactJson } from './inspection.redact';
import { maskingHooks, unmaskableError } from './inspection.redact.complete';
import { AnswerScanner, type ReportFindings } from './inspection.streams';
import { createUnmasker, type Unmasker, unmask } from './inspection.unmask';

/** The request fields that carry the prompt, across the OpenAI and Anthropic endpoints. */
const PROMPT_FIELDS = ['messages', 'system', 'input', 'instructions', 'prompt'] as const;

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
      if (block && !refusal)
        refusal = blockedError(inspection.engine, block, 'prompt', under(prefix, block.location));
      const masked = found.filter((f) => f.action === 'redact');
      if (masked.length === 0) continue;
      inspection.session ??= createRedactionSession();
      rewritten ??= { ...body };
      try {
        // Every value masked, however many (a rule past its cap is scanned again), keys renamed.
        const hooks = maskingHooks(inspection.engine, 'prompt', prefix);
        rewritten[field] = redactJson(value, masked, inspection.session, hooks);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        refusal ??= err;
      }
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
  // A text scanned in several pieces reports each rule once (its later scans only add new rules),
  // and one answer records at most MAX_RECORDED_FINDINGS, however many texts it has: past them,
  // one `truncated` finding at the end says how many were left out.
  const reported = new Set<string>();
  let recorded = 0;
  let omitted = 0;
  // The first `block` finding's refusal, thrown once the message at hand has been walked; and,
  // while a whole answer is scanned with masking on, its `redact` findings by text.
  let blocked: AppError | null = null;
  let masking: Map<string, Finding[]> | null = null;
  // A held stream (gateway.hold.ts): its events are restored as they are read, and scanned only
  // once all of them have been, by `hold.settle` (inspection.hold.ts).
  let deferring = false;
  const report: ReportFindings = (key, found) => {
    const fresh = found.filter((f) => !reported.has(`${key}\n${f.ruleId}`));
    for (const f of found) reported.add(`${key}\n${f.ruleId}`);
    const kept = fresh.slice(0, MAX_RECORDED_FINDINGS - recorded);
    omitted += fresh.length - kept.length;
    recorded += kept.length;
    if (kept.length > 0) call.findings.push(...recordFindings(inspection, kept, 'completion', 0, key));
    // Decided on every finding, recorded or not: the record's cap never lets a block through.
    const block = blockingFinding(found);
    if (block && !blocked) {
      blocked = blockedError(inspection.engine, block, 'completion', under(key, block.location));
      // Also when it cannot be refused any more (found at finish) or another refusal comes first.
      inspection.answerWithheld = true;
    }
    if (!masking) return;
    const spans = found.filter((f) => f.action === 'redact');
    if (spans.length > 0) masking.set(key, [...(masking.get(key) ?? []), ...spans]);
  };
  // A whole answer's texts past a rule's cap: every span of theirs, from one uncapped scan, joins
  // the masking; a rule that stays capped there refuses the answer (never passed half-masked).
  let unmaskable: AppError | null = null;
  const complete: ReportFindings = (key, spans) => {
    if (!masking) return;
    const still = spans.find((f) => f.more);
    if (still) unmaskable ??= unmaskableError(inspection.engine, still, 'completion', key);
    else masking.set(key, [...(masking.get(key) ?? []), ...spans]);
  };
  const scanner = new AnswerScanner(inspection.engine, report, complete);
  /** Throws the answer's refusal, if a scan of this message (or an earlier one) found a block. */
  const refuseIfBlocked = () => {
    if (blocked) throw blocked;
  };
  /** The whole texts of the message at hand, scanned together once it has been walked. */
  const wholeTexts: Array<[string, string]> = [];
  const texts: AnswerTexts = {
    piece(key, text, restoreKey) {
      if (!deferring) scanner.push(key, text);
      if (!restoring || restoreKey === null) return text;
      let u = unmaskers.get(restoreKey);
      if (!u) {
        u = createUnmasker(mapping);
        unmaskers.set(restoreKey, u);
      }
      return u.push(text);
    },
    whole: (key, text) => {
      if (!deferring) wholeTexts.push([key, text]);
      return undefined;
    },
    end: (prefix) => scanner.endUnder(prefix),
    key: answerKeys(),
    flush(restoreKey) {
      const u = unmaskers.get(restoreKey);
      unmaskers.delete(restoreKey);
      return u ? u.flush() : '';
    },
  };

  const hold: StreamHold = {
    begin() {
      deferring = true;
    },
    settle(messages) {
      if (inspection.redactResults) inspection.session ??= createRedactionSession();
      const session = inspection.redactResults ? inspection.session : null;
      let settled: Settled;
      try {
        settled = settleHeld(heldMessages(messages), { engine: inspection.engine, report, masking: session });
      } catch (err) {
        // Past the answer's text cap: refused like a block, nothing was sent.
        if (err instanceof AppError) return { refusal: err, changed: new Set() };
        throw err;
      }
      if (omitted > 0) call.findings.push(truncatedFinding(inspection, omitted));
      omitted = 0;
      const refusal = blocked ?? settled.refusal;
      // Langfuse gets no text of a refused or masked answer (llm.stages.ts).
      if (refusal || settled.changed.size > 0) inspection.answerWithheld = true;
      return { refusal, changed: settled.changed };
    },
  };

  return {
    name: 'inspection',
    ...(inspection.streamMode === 'hold' ? { hold } : {}),
    onMessage(message) {
      if (!isRecord(message)) return undefined;
      // A passing stream's chunk with two choices of one index ends it here (a held one is refused
      // whole when it settles): what the gateway cannot follow, it does not pass.
      const repeated = deferring ? null : repeatedChoice(message);
      if (repeated) throw repeated;
      // Throws past the answer's stream cap (inspection.streams.ts): the rewriter ends the stream.
      const { matched, changed } = streamEvent(message, texts);
      if (matched) {
        // A block found by this delta's scan: the stream ends here, this event not passed.
        refuseIfBlocked();
        return changed ? message : undefined;
      }
      // A whole answer (chat.completion, Anthropic message, Responses response) or any other
      // event: complete placeholders anywhere in it are restored FIRST, then its texts are
      // scanned unless streamed already — so what is scanned (and blocked, or masked) is what
      // the caller would get, its own values echoed back included. (Legacy completions' chunks
      // were scanned as pieces by streamEvent, before any restore.)
      let value: Record<string, unknown> = message;
      let restored = false;
      if (restoring) {
        const [v, c] = unmaskDeep(message, mapping);
        value = v as Record<string, unknown>;
        restored = c;
      }
      const mask =
        inspection.redactResults && !deferring && isWholeAnswer(value) ? new Map<string, Finding[]>() : null;
      if (value.object !== 'text_completion') {
        masking = mask;
        try {
          wholeMessage(value, texts);
          scanner.whole(wholeTexts, mask !== null);
        } finally {
          masking = null;
          wholeTexts.length = 0;
        }
      }
      refuseIfBlocked();
      if (unmaskable) {
        inspection.answerWithheld = true;
        throw unmaskable;
      }
      if (mask && mask.size > 0) {
        inspection.session ??= createRedactionSession();
        const { refusal, changed } = maskAnswer(value, mask, inspection.session, inspection.engine);
        if (refusal) {
          inspection.answerWithheld = true;
          throw refusal;
        }
        // Langfuse gets no text of a masked answer; one whose findings were all the caller's own
        // values (left restored) goes there as the provider sent it, like any restored answer.
        if (changed) {
          inspection.answerWithheld = true;
          return value;
        }
      }
      return restored ? value : undefined;
    },
    // A stream that ended without saying its texts had (no finish_reason, message_stop or
    // response.completed: broken off, the caller gone, a provider that omits them): what each
    // text still holds is scanned now, before the outcome is settled. Recorded only: the answer
    // is over, there is nothing left to refuse (a block found here does not throw).
    finish() {
      scanner.endUnder('');
      if (omitted > 0) call.findings.push(truncatedFinding(inspection, omitted));
      omitted = 0;
    },
  };
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
      // Defined, not assigned: a `__proto__` key stays a key (assignment drops it, or sets a prototype).
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return [changed ? out : value, changed];
  }
  return [value, false];
}
