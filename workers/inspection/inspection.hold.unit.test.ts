/**
 * A held stream's settling (inspection.hold.ts) through the answer stage, in plain Node: the
 * stage restores placeholders event by event without scanning (`hold.begin`), then `hold.settle`
 * scans each text whole and refuses a block, or rewrites each text's deltas so that joined they
 * read as its masked text — across deltas, several in one delta, n > 1 choices and parallel tool
 * calls interleaved, Anthropic content blocks, Responses output text and function-call arguments
 * (their summary events too), unicode — leaving the caller's own values restored.
 */
import { describe, expect, it } from 'vitest';
import type { StageCall } from '../gateway/gateway.stages';
import { builtinRules, packsNamed } from './inspection.builtin.js';
import { compileRules } from './inspection.engine.js';
import { llmAnswerStage } from './inspection.llm.stage.js';
import { createRedactionSession } from './inspection.redact.js';
import type { CallInspection } from './inspection.types.js';

const engine = compileRules(builtinRules(), packsNamed(['llm-standard-security', 'llm-compliance-gdpr']));
const AWS = 'AKIAZ7Q4RXW2LM5PT3NB';
type Json = Record<string, unknown>;

function held(messages: Json[], inspection: Partial<CallInspection> = {}) {
  const call = {
    identity: { user: null, traceId: 't', traceGenerated: false, metadata: null, metadataError: null },
    findings: [],
    inspection: { engine, redactResults: true, found: [], session: null, streamMode: 'hold', ...inspection },
  } as unknown as StageCall & { inspection: CallInspection };
  const stage = llmAnswerStage(call)!;
  expect(stage.hold).toBeDefined();
  stage.hold!.begin();
  const out = messages.map((m) => structuredClone(m));
  for (const m of out) stage.onMessage(m);
  stage.finish?.();
  const settled = stage.hold!.settle(out);
  return { out, settled, call };
}

const chunk = (choices: Json[]): Json => ({ object: 'chat.completion.chunk', choices });
const say = (index: number, content: string, finish: string | null = null) => ({
  index,
  delta: { content },
  finish_reason: finish,
});
const tool = (k: number, args: string) => ({
  index: 0,
  delta: { tool_calls: [{ index: k, function: { arguments: args } }] },
});

/** Each chat text's deltas joined, by key. */
function chatTexts(out: Json[]): Record<string, string> {
  const texts: Record<string, string> = {};
  for (const m of out)
    for (const c of m.choices as Array<{ index: number; delta: Json }>) {
      if (typeof c.delta.content === 'string')
        texts[`c${c.index}`] = (texts[`c${c.index}`] ?? '') + c.delta.content;
      for (const t of (c.delta.tool_calls ?? []) as Array<{ index: number; function: { arguments: string } }>)
        texts[`t${t.index}`] = (texts[`t${t.index}`] ?? '') + t.function.arguments;
    }
  return texts;
}

describe('held chat stream', () => {
  it('n=2 and parallel tool calls interleaved: each text masked, a key across 2+ deltas, several in one delta', () => {
    const messages = [
      chunk([say(1, `Key ${AWS.slice(0, 5)}`)]),
      chunk([say(0, 'Mail ann@example.org and bob@example.org ')]),
      chunk([say(1, AWS.slice(5, 12))]),
      chunk([say(0, 'thanks.', 'stop')]),
      chunk([say(1, `${AWS.slice(12)} ok`, 'stop')]),
      chunk([tool(1, '{"k":"AKIA')]),
      chunk([tool(0, '{"city":"Paris"}')]),
      chunk([tool(1, `${AWS.slice(4)}"}`)]),
    ];
    const { out, settled, call } = held(messages);
    expect(settled.refusal).toBeNull();
    expect(chatTexts(out)).toEqual({
      c0: 'Mail [EMAIL_1] and [EMAIL_2] thanks.',
      c1: 'Key [SECRET_1] ok',
      t0: '{"city":"Paris"}',
      t1: '{"k":"[SECRET_1]"}',
    });
    // The placeholder goes where the match starts; the deltas it covers keep only their own rest.
    expect((out[0]!.choices as Array<{ delta: Json }>)[0]!.delta.content).toBe('Key [SECRET_1]');
    expect((out[2]!.choices as Array<{ delta: Json }>)[0]!.delta.content).toBe('');
    expect((out[4]!.choices as Array<{ delta: Json }>)[0]!.delta.content).toBe(' ok');
    // Only the rewritten messages are re-serialized; the others stay byte for byte.
    expect(settled.changed.has(out[3]!)).toBe(false);
    expect(settled.changed.has(out[6]!)).toBe(false);
    expect(settled.changed.has(out[0]!)).toBe(true);
    expect(call.inspection.answerWithheld).toBe(true);
    expect(JSON.stringify(call.findings)).not.toContain(AWS);
  });

  it('a block finding anywhere refuses the whole answer, nothing rewritten', () => {
    const messages = [chunk([say(0, `a ${AWS.slice(0, 8)}`)]), chunk([say(0, AWS.slice(8), 'stop')])];
    const { settled, call } = held(messages, {
      engine: compileRules(builtinRules(), packsNamed(['llm-standard-security']), {
        rules: { 'secret.aws_access_key_id': 'block' },
      } as never),
    });
    expect(settled.refusal?.code).toBe('content_blocked');
    expect(settled.refusal?.details).toMatchObject({ location: '$.choices[0].message.content' });
    expect(call.inspection.answerWithheld).toBe(true);
  });

  it('redactResults off: findings recorded, nothing rewritten', () => {
    const messages = [chunk([say(0, `a ${AWS}`, 'stop')])];
    const { out, settled, call } = held(messages, { redactResults: false });
    expect(settled.changed.size).toBe(0);
    expect(chatTexts(out).c0).toBe(`a ${AWS}`);
    expect(call.findings.map((f) => f.kind)).toContain('secret.aws_access_key_id');
  });

  it('the caller’s own value (a placeholder split across deltas, restored) stays restored; unicode kept whole', () => {
    const session = createRedactionSession();
    session.mapping.set('[EMAIL_1]', 'jané@example.com');
    session.byValue.set('EMAIL\0jané@example.com', '[EMAIL_1]');
    session.counters.set('EMAIL', 1);
    const messages = [
      chunk([say(0, '😀 à [EMA')]),
      chunk([say(0, 'IL_1] et zoe@exa')]),
      chunk([say(0, 'mple.net 🎉', 'stop')]),
    ];
    const { out } = held(messages, { session });
    expect(chatTexts(out).c0).toBe('😀 à jané@example.com et [EMAIL_2] 🎉');
  });
});

describe('held Anthropic stream', () => {
  const ev = (type: string, index: number, extra: Json = {}): Json => ({ type, index, ...extra });
  it('text and tool-input blocks interleaved, each masked by its block index', () => {
    const messages = [
      { type: 'message_start', message: { type: 'message', content: [] } },
      ev('content_block_start', 0, { content_block: { type: 'text', text: '' } }),
      ev('content_block_start', 1, { content_block: { type: 'tool_use', input: {} } }),
      ev('content_block_delta', 0, { delta: { type: 'text_delta', text: `Key ${AWS.slice(0, 10)}` } }),
      ev('content_block_delta', 1, { delta: { type: 'input_json_delta', partial_json: '{"to":"x@exa' } }),
      ev('content_block_delta', 0, { delta: { type: 'text_delta', text: `${AWS.slice(10)}.` } }),
      ev('content_block_delta', 1, { delta: { type: 'input_json_delta', partial_json: 'mple.org"}' } }),
      ev('content_block_stop', 0),
      ev('content_block_stop', 1),
      { type: 'message_stop' },
    ];
    const { out, settled } = held(messages);
    expect(settled.refusal).toBeNull();
    const text = (i: number, f: string) =>
      out
        .filter((m) => m.type === 'content_block_delta' && m.index === i)
        .map((m) => (m.delta as Json)[f])
        .join('');
    expect(text(0, 'text')).toBe('Key [SECRET_1].');
    expect(text(1, 'partial_json')).toBe('{"to":"[EMAIL_1]"}');
  });
});

describe('held Responses stream', () => {
  it('output_text and function-call argument deltas masked, and the .done / response.completed summaries', () => {
    const text = `Mail ann@example.org now`;
    const args = `{"key":"${AWS}"}`;
    const messages: Json[] = [
      {
        type: 'response.output_text.delta',
        output_index: 0,
        content_index: 0,
        item_id: 'm',
        delta: text.slice(0, 9),
      },
      {
        type: 'response.function_call_arguments.delta',
        output_index: 1,
        item_id: 'f',
        delta: args.slice(0, 12),
      },
      {
        type: 'response.output_text.delta',
        output_index: 0,
        content_index: 0,
        item_id: 'm',
        delta: text.slice(9),
      },
      {
        type: 'response.function_call_arguments.delta',
        output_index: 1,
        item_id: 'f',
        delta: args.slice(12),
      },
      { type: 'response.output_text.done', output_index: 0, content_index: 0, text },
      { type: 'response.function_call_arguments.done', output_index: 1, arguments: args },
      {
        type: 'response.completed',
        response: {
          object: 'response',
          output: [
            { type: 'message', content: [{ type: 'output_text', text }] },
            { type: 'function_call', arguments: args },
          ],
        },
      },
    ];
    const { out, settled } = held(messages);
    expect(settled.refusal).toBeNull();
    const joined = (type: string, o: number) =>
      out
        .filter((m) => m.type === type && m.output_index === o)
        .map((m) => m.delta)
        .join('');
    expect(joined('response.output_text.delta', 0)).toBe('Mail [EMAIL_1] now');
    expect(joined('response.function_call_arguments.delta', 1)).toBe('{"key":"[SECRET_1]"}');
    expect(out[4]!.text).toBe('Mail [EMAIL_1] now');
    expect(out[5]!.arguments).toBe('{"key":"[SECRET_1]"}');
    expect(JSON.stringify(out[6])).not.toContain(AWS);
    expect(JSON.stringify(out[6])).not.toContain('ann@example.org');
    expect(JSON.stringify(out)).toContain('[SECRET_1]');
  });
});

describe('held stream, bounded', () => {
  it('more texts than a passing stream follows: refused (upstream_too_large), empty deltas not counted', () => {
    const many = Array.from({ length: 129 }, (_, i) => chunk([say(i, 'hi')]));
    expect(held(many).settled.refusal?.code).toBe('upstream_too_large');
    const quiet = [
      ...Array.from({ length: 200 }, (_, i) => chunk([say(i, '')])),
      chunk([say(0, 'hi', 'stop')]),
    ];
    expect(held(quiet).settled.refusal).toBeNull();
  });
});

describe('held stream, choices that cannot be told apart', () => {
  it('a chunk repeating a choice index refuses the answer, found or not; one index per chunk passes', () => {
    const twice = [
      chunk([say(0, 'The key is AKIAZ7Q4R'), say(0, 'Nothing. ')]),
      chunk([say(0, 'XW2LM5PT3NB')]),
    ];
    const { settled, out } = held(twice);
    expect(settled.refusal?.code).toBe('content_blocked');
    expect(settled.refusal?.details).toEqual({ where: 'completion', location: '$.choices[0]' });
    expect(settled.changed.size).toBe(0);
    expect(chatTexts(out).c0).toContain('AKIAZ7Q4R'); // nothing rewritten: the answer is not sent
    const legacy = [
      {
        object: 'text_completion',
        choices: [
          { index: 1, text: 'a' },
          { index: 1, text: 'b' },
        ],
      },
    ];
    expect(held(legacy).settled.refusal?.details).toEqual({ where: 'completion', location: '$.choices[1]' });
    // The same choices, one per chunk (as providers send n > 1): settled as usual.
    const apart = [chunk([say(0, 'a'), say(1, 'b')]), chunk([say(0, AWS, 'stop'), say(1, 'c', 'stop')])];
    expect(held(apart).settled.refusal).toBeNull();
  });
});
