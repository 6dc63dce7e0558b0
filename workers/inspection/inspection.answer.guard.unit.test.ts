/**
 * The LLM answer stage as an output guardrail (docs/detections.md), in plain Node:
 *   - a `block` finding on a whole answer (chat, Anthropic, Responses) refuses it: `content_blocked`
 *     thrown, naming rule, category and path, never the value; the finding recorded;
 *   - on a stream, the event whose scan finds it is refused (thrown) — the earlier events passed;
 *     a block found only when the stream has ended is recorded (nothing left to refuse);
 *   - `redact` findings of a whole answer are masked when `redactResults` is on (an Anthropic
 *     tool_use input stays an object), after the request's placeholders are restored (a caller's
 *     echoed value of the caller's own is given back restored; a value it did not send is masked); off, the answer is unchanged and the finding
 *     recorded; a stream's are recorded only; `alert` / `log` change nothing.
 */
import { describe, expect, it } from 'vitest';
import type { StageCall } from '../gateway/gateway.stages';
import { AppError } from '../lib/errors';
import { maskAnswer } from './inspection.answer.mask.js';
import { builtinRules, packsNamed } from './inspection.builtin.js';
import { compileRules, type Finding } from './inspection.engine.js';
import { inspectLlmRequest, llmAnswerStage, type PromptUnit } from './inspection.llm.stage.js';
import { createRedactionSession } from './inspection.redact.js';
import { SCAN_CHUNK } from './inspection.streams.js';
import type { CallInspection } from './inspection.types.js';

const PACKS = packsNamed(['llm-standard-security', 'llm-compliance-gdpr']);
const AWS = 'AKIAZ7Q4RXW2LM5PT3NB';
const RULE = 'secret.aws_access_key_id';
type Action = 'block' | 'redact' | 'alert' | 'log';

function stageCall(action: Action | null, redactResults = true): StageCall & { inspection: CallInspection } {
  const engine = compileRules(builtinRules(), PACKS, action ? { rules: { [RULE]: action } } : undefined);
  return {
    identity: { user: null, traceId: 't', traceGenerated: false, metadata: null, metadataError: null },
    findings: [],
    inspection: { engine, redactResults, found: [], session: null },
  } as unknown as StageCall & { inspection: CallInspection };
}

const chatJson = (content: string) => ({
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
});
const chunk = (content: string, finish: string | null = null) => ({
  object: 'chat.completion.chunk',
  choices: [{ index: 0, delta: { content }, finish_reason: finish }],
});

function refusalOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('block', () => {
  it('refuses a whole chat answer, naming rule and path, never the value; the finding is recorded', () => {
    const call = stageCall('block');
    const err = refusalOf(() => llmAnswerStage(call)!.onMessage(chatJson(`The key is ${AWS}.`)));
    expect(err.code).toBe('content_blocked');
    expect(err.details).toMatchObject({
      ruleId: RULE,
      category: 'secret',
      where: 'completion',
      location: '$.choices[0].message.content',
    });
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain(AWS);
    expect(call.findings.map((f) => [f.kind, f.detail?.action])).toEqual([[RULE, 'block']]);
    expect(call.inspection.answerWithheld).toBe(true); // Langfuse gets no text of it (llm.stages.ts)
  });

  it('refuses an Anthropic message (tool_use input) and a Responses response (function arguments)', () => {
    const anthropic = {
      type: 'message',
      role: 'assistant',
      content: [
        { type: 'text', text: 'Calling.' },
        { type: 'tool_use', id: 'tu', name: 'f', input: { key: AWS } },
      ],
    };
    const responses = {
      object: 'response',
      output: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: `{"key":"${AWS}"}` }],
    };
    const a = refusalOf(() => llmAnswerStage(stageCall('block'))!.onMessage(anthropic));
    const r = refusalOf(() => llmAnswerStage(stageCall('block'))!.onMessage(responses));
    expect(a.details).toMatchObject({ location: '$.content[1].input' });
    expect(r.details).toMatchObject({ location: '$.output[0].arguments' });
  });

  it('ends a stream at the event whose scan finds it: the earlier events passed', () => {
    const stage = llmAnswerStage(stageCall('block'))!;
    expect(stage.onMessage(chunk(`The key is ${AWS.slice(0, 9)}`))).toBeUndefined();
    expect(stage.onMessage(chunk(`${AWS.slice(9)} today.`))).toBeUndefined(); // waiting, not scanned yet
    const err = refusalOf(() => stage.onMessage(chunk('', 'stop'))); // the choice ends: scanned
    expect(err.details).toMatchObject({ location: '$.choices[0].message.content' });
  });

  it('on a long stream, at the delta that fills the scan piece: up to SCAN_CHUNK characters passed before', () => {
    const stage = llmAnswerStage(stageCall('block'))!;
    const filler = 'lorem ipsum dolor sit amet '.repeat(40); // ~1 KB per delta
    let passed = 0;
    stage.onMessage(chunk(`key ${AWS} `));
    passed += 1;
    let err: AppError | null = null;
    while (!err && passed < 100) {
      try {
        stage.onMessage(chunk(filler));
        passed += 1;
      } catch (e) {
        err = e as AppError;
      }
    }
    expect(err?.code).toBe('content_blocked');
    // Every delta before the one that brought the text to SCAN_CHUNK characters reached the caller.
    expect(passed).toBe(Math.ceil((SCAN_CHUNK - `key ${AWS} `.length) / filler.length));
  });

  it('a block found only when the stream has ended is recorded, not thrown', () => {
    const call = stageCall('block');
    const stage = llmAnswerStage(call)!;
    stage.onMessage(chunk(`The key is ${AWS}`)); // never finished
    expect(() => stage.finish!()).not.toThrow();
    expect(call.findings.map((f) => f.kind)).toEqual([RULE]);
  });

  it('alert and log change nothing, and record the finding', () => {
    for (const action of ['alert', 'log'] as const) {
      const call = stageCall(action);
      expect(llmAnswerStage(call)!.onMessage(chatJson(`The key is ${AWS}.`))).toBeUndefined();
      expect(llmAnswerStage(call)!.onMessage(chunk(`key ${AWS}`, 'stop'))).toBeUndefined();
      expect(call.findings.map((f) => f.detail?.action)).toEqual([action, action]);
    }
  });
});

describe('redact', () => {
  it('masks a whole answer when redactResults is on: chat, Anthropic input (still an object), Responses', () => {
    const call = stageCall(null);
    const chat = llmAnswerStage(call)!.onMessage(chatJson(`The key is ${AWS}.`));
    expect(chat).toMatchObject({ choices: [{ message: { content: 'The key is [SECRET_1].' } }] });
    expect(call.inspection.answerWithheld).toBe(true);
    const anthropic = llmAnswerStage(stageCall(null))!.onMessage({
      type: 'message',
      content: [{ type: 'tool_use', id: 'tu', name: 'f', input: { key: AWS, n: 1 } }],
    });
    expect(anthropic).toMatchObject({ content: [{ input: { key: '[SECRET_1]', n: 1 } }] });
    const responses = llmAnswerStage(stageCall(null))!.onMessage({
      object: 'response',
      output: [{ type: 'message', content: [{ type: 'output_text', text: `k=${AWS}` }] }],
    });
    expect(responses).toMatchObject({ output: [{ content: [{ text: 'k=[SECRET_1]' }] }] });
  });

  it('redactResults off: the answer unchanged, the finding recorded', () => {
    const call = stageCall(null, false);
    expect(llmAnswerStage(call)!.onMessage(chatJson(`The key is ${AWS}.`))).toBeUndefined();
    expect(call.inspection.answerWithheld).toBeUndefined();
    expect(call.findings.map((f) => [f.kind, f.detail?.action])).toEqual([[RULE, 'redact']]);
  });

  it('restores the request’s placeholders first, then masks what the caller did not send: its own value comes back', () => {
    const prompt = 'Mail jane.doe@example.com please';
    for (const redactResults of [true, false]) {
      const body = { messages: [{ role: 'user', content: prompt }] };
      const unit: PromptUnit = { endpoint: 'chat.completions', body };
      const call = stageCall(null, redactResults);
      inspectLlmRequest(call, [{ unit, tool: 'm', decision: null, refusal: null }]);
      const answer = llmAnswerStage(call)!.onMessage(chatJson('Mailing [EMAIL_1], bob@corp.example.com.'));
      const content = (answer as ReturnType<typeof chatJson>).choices[0]!.message.content;
      expect(content).toBe(
        redactResults
          ? 'Mailing jane.doe@example.com, [EMAIL_2].'
          : 'Mailing jane.doe@example.com, bob@corp.example.com.',
      );
      // Scanned after the restore: the echoed value is a finding of the answer too (with bob's).
      expect(call.findings.filter((f) => f.detail?.where === 'completion')).toHaveLength(2);
    }
  });

  it('a stream’s redact findings are recorded, the deltas unchanged', () => {
    const call = stageCall(null);
    const stage = llmAnswerStage(call)!;
    expect(stage.onMessage(chunk(`key ${AWS}`, 'stop'))).toBeUndefined();
    expect(call.findings.map((f) => f.kind)).toEqual([RULE]);
  });

  it('two chat choices under one index: refused, never masked at offsets of the other text', () => {
    const call = stageCall(null);
    const answer = {
      object: 'chat.completion',
      choices: [
        { index: 0, message: { content: 'nothing here, nothing at all' } },
        { index: 0, message: { content: `k ${AWS}` } },
      ],
    };
    expect(refusalOf(() => llmAnswerStage(call)!.onMessage(answer)).code).toBe('content_blocked');
  });

  it('an Anthropic tool input whose masked text is no longer JSON is refused, not passed', () => {
    const message = { type: 'message', content: [{ type: 'tool_use', input: { a: 'x"y' } }] };
    const text = JSON.stringify(message.content[0]!.input); // {"a":"x\"y"}
    const start = text.indexOf('\\');
    const span = { start, end: start + 1, severity: 'high', placeholder: 'SECRET', ruleId: RULE } as Finding;
    const { refusal } = maskAnswer(
      message,
      new Map([['$.content[0].input', [span]]]),
      createRedactionSession(),
      compileRules(builtinRules(), PACKS),
    );
    expect(refusal?.code).toBe('content_blocked');
    expect(message.content[0]!.input).toEqual({ a: 'x"y' });
  });
});
