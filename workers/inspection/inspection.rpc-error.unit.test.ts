/**
 * A JSON-RPC error in a 2xx answer (inspection.rpc-error.ts) through the MCP and A2A result stages,
 * in plain Node: message and data scanned at `$.error…`, masked in place (the code and other members
 * kept), refused with the gateway's -32014 under a block rule; a message with both a result and an
 * error has both read; a message with neither is left alone, unparsed when it says neither key; a
 * server request's or notification's params are masked, or the answer refused under a block rule.
 */
import { describe, expect, it } from 'vitest';
import type { StageCall } from '../gateway/gateway.stages';
import { a2aResultStage } from './inspection.a2a.stage.js';
import { builtinRules, packsNamed } from './inspection.builtin.js';
import { compileRules } from './inspection.engine.js';
import { mcpResultStage } from './inspection.mcp.stage.js';
import type { CallInspection } from './inspection.types.js';

const KEY = 'AKIAZ7Q4RXW2LM5PT3NB';
const CARD = '4111 1111 1111 1111';
const PACKS = packsNamed(['secrets-default', 'pii-default']);

function stageCall(block = false): StageCall & { inspection: CallInspection } {
  const overrides = block ? { rules: { 'secret.aws_access_key_id': 'block' as const } } : undefined;
  const engine = compileRules(builtinRules(), PACKS, overrides);
  return {
    identity: { user: null, traceId: 'trace-1', traceGenerated: false, metadata: null, metadataError: null },
    findings: [],
    inspection: { engine, redactResults: true, found: [], session: null },
  } as unknown as StageCall & { inspection: CallInspection };
}

const leaking = (id: number) => ({
  jsonrpc: '2.0',
  id,
  error: { code: -32603, message: `no key ${KEY}`, data: { detail: `card ${CARD}`, list: ['a', KEY] }, x: 1 },
});

const locations = (call: StageCall) =>
  call.findings.map((f) => `${f.kind} ${(f.detail as { location: string }).location}`).sort();

describe('MCP result stage: a JSON-RPC error', () => {
  it('masks message and data in place, keeping the code and other members, each finding at its path', () => {
    const call = stageCall();
    const out = mcpResultStage(call, null)!.onMessage(leaking(4));
    expect(out).toEqual({
      jsonrpc: '2.0',
      id: 4,
      error: {
        code: -32603,
        message: 'no key [SECRET_1]',
        data: { detail: 'card [CARD_1]', list: ['a', '[SECRET_1]'] },
        x: 1,
      },
    });
    expect(locations(call)).toEqual([
      'pii.credit_card $.error.data.detail',
      'secret.aws_access_key_id $.error.data.list[1]',
      'secret.aws_access_key_id $.error.message',
    ]);
    expect(JSON.stringify(call.findings)).not.toContain(KEY);
  });

  it('refuses it with the gateway’s content_blocked under a block rule, the id kept', () => {
    const call = stageCall(true);
    const out = mcpResultStage(call, null)!.onMessage(leaking(9)) as {
      id: number;
      error: { code: number; message: string };
    };
    expect(out.id).toBe(9);
    expect(out.error.code).toBe(-32014);
    expect(JSON.stringify(out)).not.toContain(KEY);
    expect(JSON.stringify(out)).not.toContain(CARD);
  });

  it('reads both a result and an error when a message carries both', () => {
    const call = stageCall();
    const both = { ...leaking(1), result: { content: [{ type: 'text', text: `card ${CARD}` }] } };
    const out = mcpResultStage(call, null)!.onMessage(both);
    expect(JSON.stringify(out)).not.toContain(KEY);
    expect(JSON.stringify(out)).not.toContain(CARD);
    expect(locations(call)).toContain('pii.credit_card $.result.content[0].text');
    expect(locations(call)).toContain('secret.aws_access_key_id $.error.message');
  });

  it('leaves an error with nothing to find, and a message with neither key, alone', () => {
    const call = stageCall();
    const stage = mcpResultStage(call, null)!;
    expect(stage.onMessage({ jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'no such tool' } })).toBe(
      undefined,
    );
    expect(stage.onMessage({ jsonrpc: '2.0', method: 'notifications/progress', params: {} })).toBe(undefined);
    expect(call.findings).toEqual([]);
    // The pre-check: a message naming no result, error or params is not parsed for this stage.
    expect(stage.wants?.('{"jsonrpc":"2.0","method":"notifications/initialized"}')).toBe(false);
    expect(stage.wants?.('{"jsonrpc":"2.0","method":"notifications/progress","params":{}}')).toBe(true);
    expect(stage.wants?.('{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}}')).toBe(true);
    expect(stage.wants?.('{"jsonrpc":"2.0","id":1,"\\u0065rror":{}}')).toBe(true);
  });
});

describe('MCP result stage: what the server sends on its own', () => {
  const sampling = {
    jsonrpc: '2.0',
    id: 'srv-1',
    method: 'sampling/createMessage',
    params: {
      messages: [{ role: 'user', content: { type: 'text', text: `pay with ${CARD}` } }],
      maxTokens: 9,
    },
  };

  it('masks a server request’s params, method and id kept, findings at $.params…', () => {
    const call = stageCall();
    const out = mcpResultStage(call, null)!.onMessage(sampling) as typeof sampling;
    expect(out.id).toBe('srv-1');
    expect(out.method).toBe('sampling/createMessage');
    expect(out.params.messages[0]!.content.text).toBe('pay with [CARD_1]');
    expect(locations(call)).toEqual(['pii.credit_card $.params.messages[0].content.text']);
  });

  it('reads every part of a message that mixes a method with an error (not JSON-RPC, but readable)', () => {
    const call = stageCall();
    const mixed = { ...sampling, error: { code: 1, message: `key ${KEY}` } };
    const out = mcpResultStage(call, null)!.onMessage(mixed);
    expect(JSON.stringify(out)).not.toContain(KEY);
    expect(JSON.stringify(out)).not.toContain(CARD);
    expect(locations(call)).toEqual([
      'pii.credit_card $.params.messages[0].content.text',
      'secret.aws_access_key_id $.error.message',
    ]);
  });

  it('refuses the rest of the answer on a block finding in a notification (thrown content_blocked)', () => {
    const call = stageCall(true);
    const log = {
      jsonrpc: '2.0',
      method: 'notifications/message',
      params: { level: 'info', data: { k: KEY } },
    };
    let thrown: unknown;
    try {
      mcpResultStage(call, null)!.onMessage(log);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'content_blocked', details: { location: '$.params.data.k' } });
    expect(JSON.stringify(thrown)).not.toContain(KEY);
  });
});

describe('A2A result stage: a JSON-RPC error', () => {
  it('masks it, refuses it under a block rule, and wants a message that names an error', () => {
    const call = stageCall();
    const stage = a2aResultStage(call)!;
    expect(stage.wants?.(JSON.stringify(leaking(2)))).toBe(true);
    const out = stage.onMessage(leaking(2)) as { error: { message: string; data: unknown } };
    expect(out.error.message).toBe('no key [SECRET_1]');
    expect(out.error.data).toEqual({ detail: 'card [CARD_1]', list: ['a', '[SECRET_1]'] });
    expect(locations(call)).toContain('secret.aws_access_key_id $.error.message');
    const blocking = stageCall(true);
    const refused = a2aResultStage(blocking)!.onMessage(leaking(3)) as {
      id: number;
      error: { code: number };
    };
    expect(refused.id).toBe(3);
    expect(refused.error.code).toBe(-32014);
    expect(JSON.stringify(refused)).not.toContain(KEY);
  });
});
