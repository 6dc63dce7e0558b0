/**
 * The LLM answer stage scans each text of an answer on its own (inspection.answer.ts,
 * inspection.streams.ts), in plain Node: a secret cut in two pieces of one choice, tool call,
 * content block or output item is found although another text's piece comes between them; tool
 * arguments, Anthropic thinking and Responses function-call arguments are scanned, streamed and
 * whole; a long stream is scanned to its end in bounded pieces; an answer opening more texts than
 * the cap is refused.
 */
import { describe, expect, it } from 'vitest';
import type { StageCall } from '../gateway/gateway.stages';
import { AppError } from '../lib/errors';
import { builtinRules, packsNamed } from './inspection.builtin.js';
import { compileRules } from './inspection.engine.js';
import { llmAnswerStage } from './inspection.llm.stage.js';
import { AnswerScanner, MAX_ANSWER_STREAMS, SCAN_CHUNK } from './inspection.streams.js';
import type { CallInspection } from './inspection.types.js';

const engine = compileRules(builtinRules(), packsNamed(['llm-standard-security', 'llm-compliance-gdpr']));
const AWS = 'AKIAZ7Q4RXW2LM5PT3NB';
const [HEAD, TAIL] = [AWS.slice(0, 9), AWS.slice(9)];
const RULE = 'secret.aws_access_key_id';

function stageCall(): StageCall & { inspection: CallInspection } {
  return {
    identity: { user: null, traceId: 'trace-1', traceGenerated: false, metadata: null, metadataError: null },
    findings: [],
    inspection: { engine, redactResults: true, found: [], session: null },
  } as unknown as StageCall & { inspection: CallInspection };
}

/** Runs the messages through a fresh stage; the (rule, location) pairs it recorded. */
function findingsOf(messages: unknown[]): Array<[unknown, unknown]> {
  const call = stageCall();
  const stage = llmAnswerStage(call)!;
  for (const m of messages) stage.onMessage(structuredClone(m));
  return call.findings.map((f) => [f.kind, f.detail?.location]);
}

const chunk = (choices: unknown[]) => ({ object: 'chat.completion.chunk', choices });
const content = (index: number, text: string, finish: string | null = null) => ({
  index,
  delta: { content: text },
  finish_reason: finish,
});
const toolArgs = (k: number, args: string) => ({
  index: 0,
  delta: { tool_calls: [{ index: k, function: { arguments: args } }] },
  finish_reason: null,
});

describe('OpenAI chat completions, streamed', () => {
  it('n > 1: a key cut across two pieces of choice 0, with choice 1 between them', () => {
    const found = findingsOf([
      chunk([content(0, `the key is ${HEAD}`)]),
      chunk([content(1, 'nothing to see ')]),
      chunk([content(0, `${TAIL} ok`)]),
      chunk([content(1, 'here', 'stop')]),
      chunk([content(0, '', 'stop')]),
    ]);
    expect(found).toEqual([[RULE, '$.choices[0].message.content']]);
  });

  it('one chunk carrying both choices interleaved (choices[] holds 0 and 1 each time)', () => {
    const found = findingsOf([
      chunk([content(0, HEAD), content(1, 'AKIA')]),
      chunk([content(0, TAIL, 'stop'), content(1, 'nope', 'stop')]),
    ]);
    expect(found).toEqual([[RULE, '$.choices[0].message.content']]);
  });

  it('parallel tool calls: arguments of call 1 cut, call 0 between the pieces', () => {
    const found = findingsOf([
      chunk([toolArgs(1, `{"key":"${HEAD}`)]),
      chunk([toolArgs(0, '{"city":"Paris"}')]),
      chunk([toolArgs(1, `${TAIL}"}`)]),
      chunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]),
    ]);
    expect(found).toEqual([[RULE, '$.choices[0].message.tool_calls[1].function.arguments']]);
  });

  it('an audio answer: its transcript, streamed and whole', () => {
    const audio = (transcript: string, finish: string | null = null) => ({
      index: 0,
      delta: { audio: { id: 'a', transcript } },
      finish_reason: finish,
    });
    expect(findingsOf([chunk([audio(`say ${HEAD}`)]), chunk([audio(TAIL, 'stop')])])).toEqual([
      [RULE, '$.choices[0].message.audio.transcript'],
    ]);
    const whole = {
      object: 'chat.completion',
      choices: [
        { index: 0, message: { content: null, audio: { id: 'a', data: '', transcript: `say ${AWS}` } } },
      ],
    };
    expect(findingsOf([whole])).toEqual([[RULE, '$.choices[0].message.audio.transcript']]);
  });

  it('a long answer is scanned to its end, in bounded pieces, each finding once', () => {
    const filler = 'lorem ipsum dolor sit amet '.repeat(20_000); // 540 KB, past the old 256 KB cap
    const pieces: string[] = [];
    const text = `${filler}${AWS} and ${filler}`;
    for (let i = 0; i < text.length; i += 7) pieces.push(text.slice(i, i + 7));
    // A second key cut by the first scan's end: its head is scanned once, then again with its tail.
    const around = `${'x '.repeat(SCAN_CHUNK / 2 - 5)}${AWS} end`;
    const found = findingsOf([
      ...pieces.map((p) => chunk([content(0, p)])),
      chunk([content(0, '', 'stop')]),
      chunk([content(1, around.slice(0, SCAN_CHUNK))]),
      chunk([content(1, around.slice(SCAN_CHUNK), 'stop')]),
    ]);
    expect(found).toEqual([
      [RULE, '$.choices[0].message.content'],
      [RULE, '$.choices[1].message.content'],
    ]);
  });

  it('a stream that ends without a finish_reason: what its texts hold is scanned at the end', () => {
    const call = stageCall();
    const stage = llmAnswerStage(call)!;
    stage.onMessage(chunk([content(0, `the key is ${HEAD}`)]));
    stage.onMessage(chunk([content(0, `${TAIL} and then the upstream broke off`)]));
    expect(call.findings).toEqual([]);
    stage.finish?.();
    expect(call.findings.map((f) => [f.kind, f.detail?.location])).toEqual([
      [RULE, '$.choices[0].message.content'],
    ]);
  });

  it('refuses an answer that opens more texts than the cap (fail closed)', () => {
    const call = stageCall();
    const stage = llmAnswerStage(call)!;
    for (let i = 0; i < MAX_ANSWER_STREAMS; i++) stage.onMessage(chunk([content(i, 'hi')]));
    let err: unknown;
    try {
      stage.onMessage(chunk([content(MAX_ANSWER_STREAMS, 'one more')]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('upstream_too_large');
    expect((err as AppError).details).toEqual({ maxStreams: MAX_ANSWER_STREAMS });
  });
});

describe('AnswerScanner', () => {
  it('finds what a scan of the whole text finds, at the same offsets, however the pieces fall', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 4; round++) {
      let text = '';
      for (let k = 0; k < 6; k++) text += `${'word '.repeat(rand(4000))}${AWS} card 4111 1111 1111 1111 `;
      const whole = engine.scan(text, 'completion').map((f) => `${f.ruleId}@${f.start}-${f.end}`);
      const streamed: string[] = [];
      const scanner = new AnswerScanner(engine, (_key, found) => {
        for (const f of found) streamed.push(`${f.ruleId}@${f.start}-${f.end}`);
      });
      for (let i = 0; i < text.length; ) {
        const n = 1 + rand(3000);
        scanner.push('$.t', text.slice(i, i + n));
        i += n;
      }
      scanner.end('$.t');
      expect(streamed.sort()).toEqual(whole.sort());
    }
  });
});

describe('Anthropic Messages', () => {
  const delta = (index: number, d: Record<string, unknown>) => ({
    type: 'content_block_delta',
    index,
    delta: d,
  });

  it('scans thinking_delta; a signature_delta is not content', () => {
    const found = findingsOf([
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } },
      delta(0, { type: 'thinking_delta', thinking: `I recall ${HEAD}` }),
      delta(0, { type: 'thinking_delta', thinking: `${TAIL} from the docs` }),
      delta(0, { type: 'signature_delta', signature: `sig ${AWS}` }),
      { type: 'content_block_stop', index: 0 },
      { type: 'message_stop' },
    ]);
    expect(found).toEqual([[RULE, '$.content[0].thinking']]);
  });

  it('input_json_delta of one tool_use block, cut, with another block between the pieces', () => {
    const found = findingsOf([
      delta(1, { type: 'input_json_delta', partial_json: `{"k":"${HEAD}` }),
      delta(2, { type: 'input_json_delta', partial_json: '{"q":"x"}' }),
      delta(1, { type: 'input_json_delta', partial_json: `${TAIL}"}` }),
      { type: 'message_delta', delta: { stop_reason: 'tool_use' } },
    ]);
    expect(found).toEqual([[RULE, '$.content[1].input']]);
  });

  it('a whole message: thinking blocks and tool_use input are scanned', () => {
    const found = findingsOf([
      {
        type: 'message',
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: `the key ${AWS}`, signature: 'abc' },
          { type: 'tool_use', id: 't', name: 'f', input: { key: AWS } },
          { type: 'text', text: 'done' },
        ],
      },
    ]);
    expect(found).toEqual([
      [RULE, '$.content[0].thinking'],
      [RULE, '$.content[1].input'],
    ]);
  });
});

describe('OpenAI Responses', () => {
  const args = (o: number, d: string) => ({
    type: 'response.function_call_arguments.delta',
    item_id: `fc_${o}`,
    output_index: o,
    delta: d,
  });

  it('function_call_arguments.delta of two calls interleaved; .done and the summary do not repeat it', () => {
    const full = `{"key":"${AWS}"}`;
    const found = findingsOf([
      args(0, `{"key":"${HEAD}`),
      args(1, '{"city":"Paris"}'),
      args(0, `${TAIL}"}`),
      { type: 'response.function_call_arguments.done', item_id: 'fc_0', output_index: 0, arguments: full },
      {
        type: 'response.completed',
        response: {
          object: 'response',
          output: [
            { type: 'function_call', name: 'f', arguments: full },
            { type: 'function_call', name: 'g', arguments: '{"city":"Paris"}' },
          ],
        },
      },
    ]);
    expect(found).toEqual([[RULE, '$.output[0].arguments']]);
  });

  it('a .done event carrying a text no delta streamed is scanned', () => {
    const found = findingsOf([
      { type: 'response.function_call_arguments.done', output_index: 2, arguments: `{"k":"${AWS}"}` },
    ]);
    expect(found).toEqual([[RULE, '$.output[2].arguments']]);
  });

  it('a text announced empty (response.in_progress), then given only whole, is scanned and reported once', () => {
    const full = `{"key":"${AWS}"}`;
    const item = (args: string) => ({ type: 'function_call', id: 'fc_0', name: 'f', arguments: args });
    const found = findingsOf([
      { type: 'response.output_item.added', output_index: 0, item: item('') },
      { type: 'response.in_progress', response: { object: 'response', output: [item('')] } },
      { type: 'response.function_call_arguments.done', item_id: 'fc_0', output_index: 0, arguments: full },
      { type: 'response.output_item.done', output_index: 0, item: item(full) },
      { type: 'response.completed', response: { object: 'response', output: [item(full)] } },
    ]);
    expect(found).toEqual([[RULE, '$.output[0].arguments']]);
  });

  it('a whole response: function_call arguments and output text each scanned', () => {
    const found = findingsOf([
      {
        object: 'response',
        output: [
          { type: 'function_call', name: 'f', arguments: `{"k":"${AWS}"}` },
          { type: 'message', content: [{ type: 'output_text', text: `also ${AWS}` }] },
        ],
      },
    ]);
    expect(found).toEqual([
      [RULE, '$.output[0].arguments'],
      [RULE, '$.output[1].content[0].text'],
    ]);
  });
});

describe('OpenAI chat completions, whole', () => {
  it('records at most 50 findings for an answer of many texts, then how many were left out', () => {
    const call = stageCall();
    const stage = llmAnswerStage(call)!;
    for (let i = 0; i < 80; i++) stage.onMessage(chunk([content(i, `key ${AWS}`, 'stop')]));
    stage.finish?.();
    expect(call.findings.filter((f) => f.kind === RULE)).toHaveLength(50);
    expect(call.findings.at(-1)).toMatchObject({ kind: 'truncated', detail: { omitted: 30 } });
    expect(call.findings).toHaveLength(51);
  });

  it('scans the whole texts of one message together, each finding given back to its own text', () => {
    const call = stageCall();
    let scans = 0;
    // The recorded locations are scanned too (reportedLocation: a key can be a secret), one each.
    let locationScans = 0;
    const counting = {
      ...engine,
      reach: engine.reach,
      ruleCount: engine.ruleCount,
      scanJson: engine.scanJson,
    };
    counting.scan = (text: string, where: Parameters<typeof engine.scan>[1]) => {
      if (text.startsWith('$.')) locationScans++;
      else scans++;
      return engine.scan(text, where);
    };
    call.inspection.engine = counting;
    const tool_calls = ['{}', `{"k":"${AWS}"}`, '{"q":1}', `{"again":"${AWS}"}`].map((args, k) => ({
      id: `c${k}`,
      type: 'function',
      function: { name: 'f', arguments: args },
    }));
    llmAnswerStage(call)!.onMessage({
      object: 'chat.completion',
      choices: [{ index: 0, message: { content: 'hello', tool_calls } }],
    });
    expect(scans).toBe(1);
    expect(locationScans).toBeLessThanOrEqual(call.findings.length);
    expect(call.findings.map((f) => f.detail?.location)).toEqual([
      '$.choices[0].message.tool_calls[1].function.arguments',
      '$.choices[0].message.tool_calls[3].function.arguments',
    ]);
  });

  it('tool_calls arguments are scanned, each under its path', () => {
    const found = findingsOf([
      {
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: {
              content: null,
              tool_calls: [
                { id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } },
                { id: 'b', type: 'function', function: { name: 'g', arguments: `{"k":"${AWS}"}` } },
              ],
            },
          },
        ],
      },
    ]);
    expect(found).toEqual([[RULE, '$.choices[0].message.tool_calls[1].function.arguments']]);
  });
});
