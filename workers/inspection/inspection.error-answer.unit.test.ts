/**
 * An upstream error answer's inspection in plain Node (inspection.error-answer.ts): one JSON
 * document walked at its paths (pretty-printed too), text scanned whole, empty passed, binary
 * refused; `block` refuses, `redact` masks with `redactResults` (else records only), each finding
 * recorded with the protocol's `where`; the stage does nothing to a 2xx message.
 */
import { describe, expect, it } from 'vitest';
import type { StageCall } from '../gateway/gateway.stages';
import { AppError } from '../lib/errors';
import { builtinRules, packsNamed } from './inspection.builtin.js';
import { compileRules } from './inspection.engine.js';
import { errorAnswerStage } from './inspection.error-answer.js';
import type { Where } from './inspection.schema.js';
import type { CallInspection } from './inspection.types.js';

const RULE = 'secret.aws_access_key_id';
const KEY = 'AKIAZ7Q4RXW2LM5PT3NB';
const CARD = '4111 1111 1111 1111';
const PACKS = packsNamed(['secrets-default', 'pii-default']);
const blocking = compileRules(builtinRules(), PACKS, { rules: { [RULE]: 'block' } });
const masking = compileRules(builtinRules(), PACKS);

function stageCall(engine = masking, redactResults = true): StageCall & { inspection: CallInspection } {
  return {
    identity: { user: null, traceId: 't', traceGenerated: false, metadata: null, metadataError: null },
    findings: [],
    inspection: { engine, redactResults, found: [], session: null },
  } as unknown as StageCall & { inspection: CallInspection };
}

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);
const details = (call: StageCall) => call.findings.map((f) => f.detail as { location: string; where: Where });

function stageFor(call: StageCall, where: Where = 'result') {
  const stage = errorAnswerStage(call, where);
  if (!stage?.onErrorBody) throw new Error('no stage');
  return stage as typeof stage & { onErrorBody(b: Uint8Array): Uint8Array | undefined };
}

function refusal(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('errorAnswerStage', () => {
  it('is absent on a connection that inspects nothing, and done for every 2xx message', () => {
    expect(errorAnswerStage({ ...stageCall(), inspection: null }, 'result')).toBeNull();
    const stage = stageFor(stageCall());
    expect(stage.done?.()).toBe(true);
    expect(stage.onMessage({ result: { text: KEY } })).toBeUndefined();
  });

  it('masks a JSON error at its paths, pretty-printed or not, and records where it is scanned', () => {
    const call = stageCall();
    const body = JSON.stringify({ error: { message: `key ${KEY} card ${CARD}`, code: 500 } }, null, 2);
    const out = JSON.parse(text(stageFor(call, 'completion').onErrorBody(bytes(body)))!);
    expect(out).toEqual({ error: { message: 'key [SECRET_1] card [CARD_1]', code: 500 } });
    expect(details(call).map((d) => [d.location, d.where])).toEqual([
      ['$.error.message', 'completion'],
      ['$.error.message', 'completion'],
    ]);
    expect(call.inspection.answerWithheld).toBe(true);
  });

  it('masks a text body in place and names the line', () => {
    const call = stageCall();
    const out = stageFor(call).onErrorBody(bytes(`<h1>Error</h1>\n<pre>${KEY}</pre>\n`));
    expect(text(out)).toBe('<h1>Error</h1>\n<pre>[SECRET_1]</pre>\n');
    expect(details(call)[0]).toMatchObject({ location: 'line 2', where: 'result' });
  });

  it('passes a body with nothing to find, or with redactResults off, as it came (records the latter)', () => {
    const clean = stageCall();
    expect(stageFor(clean).onErrorBody(bytes('{"error": "overloaded"}'))).toBeUndefined();
    expect(stageFor(clean).onErrorBody(new Uint8Array())).toBeUndefined();
    expect(clean.findings).toEqual([]);
    const recorded = stageCall(masking, false);
    expect(stageFor(recorded).onErrorBody(bytes(`{"error":"${KEY}"}`))).toBeUndefined();
    expect(details(recorded)[0]).toMatchObject({ location: '$.error' });
  });

  it('refuses a block finding with content_blocked, naming the rule and the path, never the value', () => {
    const call = stageCall(blocking);
    const err = refusal(() => stageFor(call).onErrorBody(bytes(`{"error":{"message":"${KEY}"}}`)));
    expect(err.code).toBe('content_blocked');
    expect(err.details).toMatchObject({ ruleId: RULE, where: 'result', location: '$.error.message' });
    expect(JSON.stringify([err.message, err.details, call.findings])).not.toContain(KEY);
  });

  it('records at most 50 findings of an error, then one truncated count (at the answer’s end)', () => {
    const call = stageCall(masking, false);
    const stage = stageFor(call);
    const keys = Array.from({ length: 60 }, (_, i) => `AKIAZ7Q4RXW2LM5PT${String(i).padStart(3, '0')}`);
    stage.onErrorBody(bytes(JSON.stringify({ errors: keys })));
    stage.finish?.();
    expect(call.findings).toHaveLength(51);
    expect(call.findings.at(-1)).toMatchObject({ kind: 'truncated', detail: { omitted: 10 } });
  });

  it('refuses a body that is not text: nothing of an error the gateway cannot read is passed', () => {
    const binary = Uint8Array.from({ length: 64 }, (_, i) => 0x80 + i);
    const err = refusal(() => stageFor(stageCall()).onErrorBody(binary));
    expect(err.code).toBe('content_blocked');
    expect(err.details).toMatchObject({ reason: 'not_text', location: '$' });
  });
});
