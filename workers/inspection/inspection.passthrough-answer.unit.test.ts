/**
 * A passthrough LLM answer's inspection in plain Node (inspection.passthrough-answer.ts): every
 * string of a JSON answer scanned (known texts left to llmAnswerStage), JSONL line by line with the
 * line in the location, text whole with its line, binary passed; a block refuses, redact masks
 * with `redactResults`, and the caller's own values are left as they are.
 */
import { describe, expect, it } from 'vitest';
import type { StageCall } from '../gateway/gateway.stages';
import { AppError } from '../lib/errors';
import { builtinRules, packsNamed } from './inspection.builtin.js';
import { compileRules } from './inspection.engine.js';
import {
  isKnownDelta,
  jsonLines,
  passthroughAnswerStage,
  unknownPart,
} from './inspection.passthrough-answer.js';
import { lineOf, lineStarts, scanEveryString } from './inspection.passthrough-scan.js';
import type { CallInspection } from './inspection.types.js';

const RULE = 'secret.aws_access_key_id';
const KEY = 'AKIAZ7Q4RXW2LM5PT3NB';
const PACKS = packsNamed(['llm-standard-security']);
const blocking = compileRules(builtinRules(), PACKS, { rules: { [RULE]: 'block' } });
const masking = compileRules(builtinRules(), PACKS);

function stageCall(engine = blocking, redactResults = true): StageCall & { inspection: CallInspection } {
  return {
    identity: { user: null, traceId: 't', traceGenerated: false, metadata: null, metadataError: null },
    findings: [],
    inspection: { engine, redactResults, found: [], session: null },
  } as unknown as StageCall & { inspection: CallInspection };
}

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);
const locations = (call: StageCall) => call.findings.map((f) => (f.detail as { location: string }).location);

function refusal(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('helpers', () => {
  it('reads JSONL (blank lines skipped) and refuses to call a text JSONL', () => {
    expect(jsonLines(['{"a":1}', '', '[2]'])).toEqual([{ a: 1 }, undefined, [2]]);
    expect(jsonLines(['{"a":1}', 'not json'])).toBeNull();
  });

  it('finds the line of an offset', () => {
    const starts = lineStarts('ab\ncde\n\nf'.split('\n'));
    expect(starts).toEqual([0, 3, 7, 8]);
    expect([0, 2, 3, 6, 7, 8].map((o) => lineOf(starts, o))).toEqual([1, 1, 2, 2, 3, 4]);
  });

  it('tells a stream delta from a message to walk', () => {
    expect(isKnownDelta({ object: 'chat.completion.chunk' })).toBe(true);
    expect(isKnownDelta({ type: 'content_block_delta' })).toBe(true);
    expect(isKnownDelta({ type: 'response.output_text.delta' })).toBe(true);
    expect(isKnownDelta({ type: 'response.completed' })).toBe(false);
    expect(isKnownDelta({ object: 'list' })).toBe(false);
  });

  it('blanks the texts llmAnswerStage scans, in a copy, and keeps the rest', () => {
    const m = {
      object: 'chat.completion',
      choices: [{ index: 0, message: { content: KEY, annotations: [{ title: KEY }] } }],
    };
    const part = unknownPart(m);
    expect(part).not.toBe(m);
    expect(m.choices[0]!.message.content).toBe(KEY);
    expect(scanEveryString(blocking, part).map((f) => f.location)).toEqual([
      '$.choices[0].message.annotations[0].title',
    ]);
    const plain = { object: 'list', data: [{ content: KEY }] };
    expect(unknownPart(plain)).toBe(plain);
  });
});

describe('JSON messages', () => {
  it('refuses a secret in an unknown shape (a stored completion’s messages), at its path', () => {
    const call = stageCall();
    const stage = passthroughAnswerStage(call)!;
    const err = refusal(() =>
      stage.onMessage({ object: 'list', data: [{ role: 'assistant', content: `the key ${KEY}` }] }),
    );
    expect(err.code).toBe('content_blocked');
    expect(err.details).toMatchObject({ ruleId: RULE, location: '$.data[0].content' });
    expect(JSON.stringify(call.findings)).not.toContain(KEY);
    expect(call.inspection.answerWithheld).toBe(true);
  });

  it('refuses an answer with a key that is a secret, the key shown as its rule (refusal and findings)', () => {
    const call = stageCall();
    const stage = passthroughAnswerStage(call)!;
    const err = refusal(() => stage.onMessage({ object: 'list', data: [{ metadata: { [KEY]: 'x' } }] }));
    expect(err.details).toMatchObject({ ruleId: RULE, location: `$.data[0].metadata.[${RULE}]~key` });
    expect(JSON.stringify([err.details, call.findings])).not.toContain(KEY);
    expect(locations(call)).toEqual([`$.data[0].metadata.[${RULE}]~key`]);
  });

  it('leaves a known whole answer’s texts and stream deltas to llmAnswerStage', () => {
    const call = stageCall();
    const stage = passthroughAnswerStage(call)!;
    expect(stage.onMessage({ object: 'chat.completion', choices: [{ message: { content: KEY } }] })).toBe(
      undefined,
    );
    expect(
      stage.onMessage({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: KEY } }] }),
    ).toBe(undefined);
    expect(call.findings).toEqual([]);
  });

  it('walks a stream event of no known delta shape whole (a Responses event carrying text elsewhere)', () => {
    const call = stageCall();
    const stage = passthroughAnswerStage(call)!;
    const err = refusal(() =>
      stage.onMessage({
        type: 'response.created',
        response: { object: 'response', instructions: KEY, output: [] },
      }),
    );
    expect(err.details).toMatchObject({ location: '$.response.instructions' });
    // A Responses text done is one llmAnswerStage scans: left to it, the rest walked.
    const done = {
      type: 'response.output_text.done',
      output_index: 0,
      content_index: 0,
      text: KEY,
      item_id: 'x',
    };
    expect(stage.onMessage(done)).toBe(undefined);
  });

  it('walks what a known delta carries besides its pieces, and a bare JSON string', () => {
    const call = stageCall();
    const stage = passthroughAnswerStage(call)!;
    const chunk = {
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: { content: 'hi', note: KEY } }],
    };
    expect(refusal(() => stage.onMessage(chunk)).details).toMatchObject({
      location: '$.choices[0].delta.note',
    });
    const event = { type: 'content_block_delta', index: 0, delta: { type: 'novel_delta', words: KEY } };
    expect(refusal(() => stage.onMessage(event)).details).toMatchObject({ location: '$.delta.words' });
    expect(refusal(() => stage.onMessage(`key ${KEY}`)).details).toMatchObject({ location: '$' });
  });

  it('masks with redactResults, records only without it', () => {
    const on = stageCall(masking, true);
    const masked = passthroughAnswerStage(on)!.onMessage({ data: [{ text: `key ${KEY}` }] });
    expect(JSON.stringify(masked)).not.toContain(KEY);
    expect(JSON.stringify(masked)).toContain('[SECRET_1]');
    const off = stageCall(masking, false);
    expect(passthroughAnswerStage(off)!.onMessage({ data: [{ text: `key ${KEY}` }] })).toBe(undefined);
    expect(locations(off)).toEqual(['$.data[0].text']);
  });

  it('gives the caller its own value back (restored from its placeholder), masks only what it did not send', () => {
    const call = stageCall(masking, true);
    call.inspection.session = {
      mapping: new Map([['[SECRET_1]', KEY]]),
      byValue: new Map([[`SECRET\0${KEY}`, '[SECRET_1]']]),
      counters: new Map([['SECRET', 1]]),
    };
    const stage = passthroughAnswerStage(call)!;
    expect(stage.onMessage({ data: [{ text: KEY }] })).toBe(undefined);
    const other = 'AKIAQ3R5T7V9X2Z4B6D8';
    expect(JSON.stringify(stage.onMessage({ data: [{ text: `${KEY} ${other}` }] }))).toBe(
      JSON.stringify({ data: [{ text: `${KEY} [SECRET_2]` }] }),
    );
  });

  it('needs no inspection: no stage at all', () => {
    expect(passthroughAnswerStage({ findings: [], inspection: null } as unknown as StageCall)).toBeNull();
  });
});

describe('JSONL and text bodies', () => {
  const line = (t: string) =>
    JSON.stringify({
      custom_id: 'r',
      result: { type: 'succeeded', message: { type: 'message', content: [{ type: 'text', text: t }] } },
    });

  it('refuses a JSONL body naming the line and the path', () => {
    const call = stageCall();
    const body = bytes(`${line('fine')}\n${line('ok')}\n${line(`key ${KEY}`)}\n`);
    const err = refusal(() => passthroughAnswerStage(call)!.onBody!(body));
    expect(err.details).toMatchObject({ location: 'line 3 $.result.message.content[0].text' });
  });

  it('masks a JSONL line (re-serialized) and leaves the other lines byte for byte', () => {
    const call = stageCall(masking);
    const first = '{ "spaced" : "fine" }';
    const out = text(passthroughAnswerStage(call)!.onBody!(bytes(`${first}\r\n${line(`key ${KEY}`)}\n`)));
    expect(out).toBe(`${first}\r\n${line('key [SECRET_1]')}\n`);
  });

  it('scans text whole and names the line; masks it with redactResults', () => {
    const call = stageCall();
    const err = refusal(() => passthroughAnswerStage(call)!.onBody!(bytes(`one\ntwo: ${KEY}\n`)));
    expect(err.details).toMatchObject({ location: 'line 2' });
    const masked = stageCall(masking);
    expect(text(passthroughAnswerStage(masked)!.onBody!(bytes(`one\ntwo: ${KEY}`)))).toBe(
      'one\ntwo: [SECRET_1]',
    );
  });

  it('passes a binary body (not UTF-8) unscanned, and a clean one unchanged', () => {
    const call = stageCall();
    const stage = passthroughAnswerStage(call)!;
    const binary = new Uint8Array([0xff, 0xfe, ...bytes(KEY)]);
    expect(stage.onBody!(binary)).toBe(undefined);
    expect(stage.onBody!(bytes(`${line('fine')}\n`))).toBe(undefined);
    expect(call.findings).toEqual([]);
  });

  it('masks every value however many (past the per-scan cap of a rule), in JSONL and in text', () => {
    const keys = Array.from({ length: 40 }, (_, i) => `AKIAQ3R5T7V9X2Z4${String(1000 + i)}`);
    const jsonl = keys.map((k) => line(`key ${k}`)).join('\n');
    const masked = text(passthroughAnswerStage(stageCall(masking))!.onBody!(bytes(jsonl)))!;
    for (const k of keys) expect(masked).not.toContain(k);
    expect(masked).toContain('[SECRET_40]');
    const plain = text(passthroughAnswerStage(stageCall(masking))!.onBody!(bytes(keys.join(' and\n'))))!;
    for (const k of keys) expect(plain).not.toContain(k);
  });

  it('refuses a text with more values of a rule than one scan reports, rather than mask it half', () => {
    const many = Array.from({ length: 40 }, (_, i) => `AKIAQ3R5T7V9X2Z4${String(1000 + i)}`).join(' ');
    const err = refusal(() => passthroughAnswerStage(stageCall(masking))!.onBody!(bytes(`ok\n${many}`)));
    expect(err).toMatchObject({ code: 'content_blocked', details: { ruleId: RULE, location: 'line 2' } });
    const json = refusal(() => passthroughAnswerStage(stageCall(masking))!.onMessage({ data: [many] }));
    expect(json.details).toMatchObject({ location: '$.data[0]' });
    // Recorded only (redactResults off): nothing to mask, nothing refused.
    expect(passthroughAnswerStage(stageCall(masking, false))!.onMessage({ data: [many] })).toBe(undefined);
  });

  it('records at most MAX_RECORDED_FINDINGS of an answer, then says how many were left out', () => {
    const call = stageCall(masking, false);
    const stage = passthroughAnswerStage(call)!;
    const lines = Array.from({ length: 60 }, () => line(`key ${KEY}`)).join('\n');
    stage.onBody!(bytes(lines));
    stage.finish!();
    expect(call.findings).toHaveLength(51);
    expect(call.findings.at(-1)).toMatchObject({ kind: 'truncated', detail: { omitted: 10 } });
  });
});
