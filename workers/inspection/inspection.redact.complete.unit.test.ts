/**
 * Complete masking (inspection.redact.complete.ts), in plain Node: a scan reports at most 32
 * findings per rule, but every value a `redact` rule matches is masked — in a prompt, an A2A
 * message, an MCP result, a JSON answer (one text, or one value in each of 40 texts scanned as one)
 * and a held stream; a value used as an object key is renamed to its placeholder; a `__proto__` key
 * is forwarded as it came.
 */
import { describe, expect, it } from 'vitest';
import type { StageCall, UnitDecision } from '../gateway/gateway.stages';
import { inspectA2aRequest } from './inspection.a2a.stage.js';
import { builtinRules, packsNamed } from './inspection.builtin.js';
import { compileRules, DEFAULT_LIMITS } from './inspection.engine.js';
import { inspectLlmRequest, llmAnswerStage, type PromptUnit } from './inspection.llm.stage.js';
import { mcpResultStage } from './inspection.mcp.stage.js';
import { createRedactionSession, redactJson } from './inspection.redact.js';
import type { CallInspection } from './inspection.types.js';

const engine = compileRules(builtinRules(), packsNamed(['llm-standard-security', 'llm-compliance-gdpr']));
type Json = Record<string, unknown>;

const N = 40;
const emails = Array.from({ length: N }, (_, i) => `person${i}.name@corp-example.com`);
const MANY = `Invite ${emails.join(', ')} to the review.`;
const PLACEHOLDERS = `Invite ${emails.map((_, i) => `[EMAIL_${i + 1}]`).join(', ')} to the review.`;

function stageCall(inspection: Partial<CallInspection> = {}): StageCall & { inspection: CallInspection } {
  return {
    identity: { user: null, traceId: 't', traceGenerated: false, metadata: null, metadataError: null },
    findings: [],
    inspection: { engine, redactResults: true, found: [], session: null, ...inspection },
  } as unknown as StageCall & { inspection: CallInspection };
}

function prompt(body: Json): UnitDecision<PromptUnit> {
  return { unit: { endpoint: 'chat.completions', body }, tool: 'm', decision: null, refusal: null };
}

/** No address of `emails` anywhere in `value`'s JSON. */
function noneInClear(value: unknown): void {
  const json = JSON.stringify(value);
  for (const e of emails) expect(json).not.toContain(e);
  expect(json).not.toContain('@corp-example.com');
}

describe('the cap bounds what is recorded, not what is masked', () => {
  it('a scan of 40 addresses reports 32, each saying its rule reached the cap; redactSpans gives all 40', () => {
    const found = engine.scan(MANY, 'prompt').filter((f) => f.ruleId === 'pii.email');
    expect(found).toHaveLength(DEFAULT_LIMITS.maxFindingsPerRule);
    expect(found.every((f) => f.more)).toBe(true);
    const all = engine.redactSpans(MANY, 'prompt').filter((f) => f.ruleId === 'pii.email');
    expect(all.map((f) => MANY.slice(f.start, f.end))).toEqual(emails);
    expect(all.some((f) => f.more)).toBe(false);
    // Below the cap nothing says `more`.
    expect(engine.scan(emails.slice(0, 3).join(' '), 'prompt').some((f) => f.more)).toBe(false);
  });

  it('values hidden in base64 past the cap are found too (decoded spans fold many findings into one)', () => {
    const hidden = emails.map((e) => btoa(`write to ${e} today`)).join(' ');
    const text = `${emails.slice(0, 5).join(' ')} ${hidden}`;
    const all = engine.redactSpans(text, 'prompt').filter((f) => f.ruleId === 'pii.email');
    // The 5 plain ones, and each of the 40 encoded spans whole.
    expect(all).toHaveLength(5 + N);
  });
});

describe('prompts (inspectLlmRequest)', () => {
  it('40 addresses in one message: all 40 masked, [EMAIL_1]…[EMAIL_40], and restored in the answer', () => {
    const call = stageCall();
    const [d] = inspectLlmRequest(call, [
      prompt({ model: 'm', messages: [{ role: 'user', content: MANY }] }),
    ]);
    expect(d!.refusal).toBeNull();
    noneInClear(d!.unit.body);
    expect((d!.unit.body!.messages as Array<{ content: string }>)[0]!.content).toBe(PLACEHOLDERS);
    // What is recorded stays capped.
    expect(d!.findings!.filter((f) => f.kind === 'pii.email')).toHaveLength(
      DEFAULT_LIMITS.maxFindingsPerRule,
    );
    const answer = llmAnswerStage(call)!.onMessage({
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: PLACEHOLDERS } }],
    }) as { choices: Array<{ message: { content: string } }> };
    expect(answer.choices[0]!.message.content).toBe(MANY);
  });

  it('a value used as an object key is renamed to its placeholder; two keys masked to one name are refused', () => {
    const call = stageCall();
    const input = { 'jane.doe@corp-example.com': 'owner', note: 'ok' };
    const [d] = inspectLlmRequest(call, [
      prompt({
        model: 'm',
        messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'f', input }] }],
      }),
    ]);
    expect(d!.refusal).toBeNull();
    const sent = (d!.unit.body!.messages as Array<{ content: Array<{ input: Json }> }>)[0]!.content[0]!.input;
    expect(sent).toEqual({ '[EMAIL_1]': 'owner', note: 'ok' });

    const clash = { '[EMAIL_1] of team': 1, 'jane.doe@corp-example.com of team': 2 };
    const [r] = inspectLlmRequest(stageCall(), [
      prompt({
        model: 'm',
        messages: [{ role: 'user', content: [{ type: 'tool_result', content: clash }] }],
      }),
    ]);
    expect(r!.refusal?.code).toBe('inspection_unmaskable');
    expect(r!.refusal?.details).toMatchObject({
      ruleId: 'pii.email',
      // The key's address shown as its rule (reportedLocation): the refusal names no address.
      location: '$.messages[0].content[0].content["[pii.email] of team"]~key',
    });
    expect(JSON.stringify(r!.refusal?.details)).not.toContain('@corp-example.com');
  });

  it('a __proto__ key is forwarded as it came, beside a masked value', () => {
    const body = JSON.parse(
      '{"model":"m","messages":[{"role":"user","content":"mail jane.doe@corp-example.com","__proto__":{"x":1}}]}',
    );
    const [d] = inspectLlmRequest(stageCall(), [prompt(body)]);
    expect(d!.refusal).toBeNull();
    expect(JSON.stringify(d!.unit.body)).toBe(
      '{"model":"m","messages":[{"role":"user","content":"mail [EMAIL_1]","__proto__":{"x":1}}]}',
    );
    const message = (d!.unit.body!.messages as Json[])[0]!;
    expect(Object.getPrototypeOf(message)).toBe(Object.prototype);
  });
});

describe('what cannot be masked whole is refused', () => {
  it('a redact rule fed by a normalisation signal stays capped: 40 hits refuse the prompt (422), nothing rewritten', () => {
    const signals = compileRules(builtinRules(), 'all', { categories: { obfuscation: 'redact' } });
    const call = stageCall({ engine: signals });
    const text = Array.from({ length: N }, (_, i) => `wo\u200brd${i}`).join(' ');
    const body = { model: 'm', messages: [{ role: 'user', content: text }] };
    const [d] = inspectLlmRequest(call, [prompt(body)]);
    expect(d!.refusal?.code).toBe('inspection_unmaskable');
    expect(d!.refusal?.status).toBe(422);
    expect(d!.refusal?.details).toMatchObject({
      ruleId: 'obfuscation.zero_width_chars',
      where: 'prompt',
      location: '$.messages[0].content',
    });
    expect(d!.unit.body).toBe(body);
  });
});

describe('the answer restore', () => {
  it('keeps a __proto__ key of an answer whose placeholders it restores', () => {
    const call = stageCall({ redactResults: false });
    inspectLlmRequest(call, [
      prompt({ model: 'm', messages: [{ role: 'user', content: 'mail jane.doe@corp-example.com' }] }),
    ]);
    const answer = JSON.parse(
      '{"type":"message","role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{"to":"[EMAIL_1]","__proto__":{"x":1}}}]}',
    );
    const out = llmAnswerStage(call)!.onMessage(answer) as Json;
    expect(JSON.stringify(out)).toContain('"input":{"to":"jane.doe@corp-example.com","__proto__":{"x":1}}');
  });
});

describe('redactJson', () => {
  it('keeps every own key, __proto__ included, and sets no prototype', () => {
    const value = JSON.parse('{"a":"jane.doe@corp-example.com","__proto__":{"polluted":true},"b":[1]}');
    const out = redactJson(value, engine.scanJson(value, 'prompt'), createRedactionSession()) as Json;
    expect(JSON.stringify(out)).toBe('{"a":"[EMAIL_1]","__proto__":{"polluted":true},"b":[1]}');
    expect(Object.keys(out)).toEqual(['a', '__proto__', 'b']);
    expect((out as { polluted?: boolean }).polluted).toBeUndefined();
  });
});

describe('A2A messages (inspectA2aRequest)', () => {
  it('40 addresses in a text part and in a data part: all masked', () => {
    const call = stageCall();
    const message = { role: 'user', parts: [{ text: MANY }, { data: { list: MANY } }] };
    const unit = { canonical: 'SendMessage', message: { params: { message } } };
    const [d] = inspectA2aRequest(call, [{ unit, tool: 'SendMessage', decision: null, refusal: null }]);
    expect(d!.refusal).toBeNull();
    noneInClear(d!.unit.message);
    expect(message.parts[0]!.text).toBe(PLACEHOLDERS);
    expect(message.parts[1]!.data).toEqual({ list: PLACEHOLDERS });
  });
});

describe('MCP results (mcpResultStage, redactResults on)', () => {
  it('a tool result echoing 40 addresses (its text and its structured content): all masked', () => {
    const stage = mcpResultStage(stageCall(), null)!;
    const out = stage.onMessage({
      jsonrpc: '2.0',
      id: 1,
      result: {
        content: [{ type: 'text', text: MANY }],
        structuredContent: { args: { to: MANY }, [emails[0]!]: 'key' },
      },
    }) as { result: { content: Array<{ text: string }>; structuredContent: Json } };
    noneInClear(out);
    expect(out.result.content[0]!.text).toBe(PLACEHOLDERS);
    expect(Object.keys(out.result.structuredContent)).toEqual(['args', '[EMAIL_1]']);
  });
});

describe('LLM answers (redactResults on)', () => {
  it('a JSON answer with 40 addresses in one text: all masked', () => {
    const out = llmAnswerStage(stageCall())!.onMessage({
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: MANY } }],
    }) as { choices: Array<{ message: { content: string } }> };
    noneInClear(out);
    expect(out.choices[0]!.message.content).toBe(PLACEHOLDERS);
  });

  it('one address in each of 40 tool calls (scanned as one joined text, past the cap): all masked', () => {
    const tool_calls = emails.map((e, i) => ({
      id: `c${i}`,
      type: 'function',
      function: { name: 'send', arguments: JSON.stringify({ to: e }) },
    }));
    const out = llmAnswerStage(stageCall())!.onMessage({
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls } }],
    }) as { choices: Array<{ message: { tool_calls: typeof tool_calls } }> };
    noneInClear(out);
    expect(out.choices[0]!.message.tool_calls.map((c) => c.function.arguments)).toEqual(
      emails.map((_, i) => `{"to":"[EMAIL_${i + 1}]"}`),
    );
  });

  it('a held stream with 40 addresses across its deltas: all masked', () => {
    const call = stageCall({ streamMode: 'hold' });
    const stage = llmAnswerStage(call)!;
    stage.hold!.begin();
    const pieces = MANY.match(/.{1,7}/gs)!;
    const events: Json[] = [
      ...pieces.map((content) => ({
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { content }, finish_reason: null }],
      })),
      { object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
    ];
    for (const m of events) stage.onMessage(m);
    const settled = stage.hold!.settle(events);
    expect(settled.refusal).toBeNull();
    const text = events
      .map((e) => (e.choices as Array<{ delta: { content?: string } }>)[0]!.delta.content ?? '')
      .join('');
    expect(text).toBe(PLACEHOLDERS);
    noneInClear(events);
  });
});
