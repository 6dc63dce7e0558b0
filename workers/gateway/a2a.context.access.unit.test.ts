import { describe, expect, it } from 'vitest';
import type { Finding } from '../../durable-objects/guard.contract.ts';
import { AppError } from '../lib/errors.ts';
import {
  CONTEXT_STAGE,
  contextStage,
  MAX_CLAIMED_CONTEXTS,
  MAX_CONTEXT_ID,
  namedContexts,
  ownershipRefusal,
} from './a2a.context.access.ts';
import type { StageCall } from './gateway.stages.ts';

describe('namedContexts: every context id an agent may read from a send', () => {
  it('a send without a context names none; one with a context names it, in either spelling', () => {
    expect(namedContexts('SendMessage', { message: { parts: [] } })).toBeNull();
    expect(namedContexts('SendMessage', { message: { contextId: '' } })).toBeNull();
    expect(namedContexts('SendMessage', { message: { contextId: null } })).toBeNull();
    expect(namedContexts('SendMessage', {})).toBeNull();
    expect(namedContexts('SendMessage', 'not an object')).toBeNull();
    expect(namedContexts('SendMessage', { message: { contextId: 'c1' } })).toEqual(['c1']);
    expect(namedContexts('SendStreamingMessage', { message: { context_id: 'c1' } })).toEqual(['c1']);
    expect(namedContexts('SendMessage', { message: { contextId: 'c1', context_id: 'c1' } })).toEqual(['c1']);
    // Both are checked, not the first found: agents differ in which one they read.
    expect(namedContexts('SendMessage', { message: { contextId: 'mine', context_id: 'theirs' } })).toEqual([
      'mine',
      'theirs',
    ]);
    expect(namedContexts('SendMessage', { message: { contextId: '', context_id: 'theirs' } })).toEqual([
      'theirs',
    ]);
  });

  it('only sends name a context', () => {
    expect(namedContexts('GetTask', { message: { contextId: 'c1' } })).toBeNull();
    expect(namedContexts('ListTasks', { contextId: 'c1' })).toBeNull();
    expect(namedContexts(null, { message: { contextId: 'c1' } })).toBeNull();
  });

  it('a value the gateway cannot record is refused as invalid, with where it is', () => {
    for (const [key, value] of [
      ['contextId', ['c1']],
      ['contextId', 42],
      ['context_id', { id: 'c1' }],
      ['contextId', 'x'.repeat(MAX_CONTEXT_ID + 1)],
    ] as const) {
      let thrown: unknown;
      try {
        namedContexts('SendMessage', { message: { [key]: value } });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(AppError);
      expect((thrown as AppError).code).toBe('validation_failed');
      expect((thrown as AppError).details).toEqual({ location: 'body', path: `params.message.${key}` });
    }
    expect(namedContexts('SendMessage', { message: { contextId: 'x'.repeat(MAX_CONTEXT_ID) } })).toHaveLength(
      1,
    );
  });
});

describe('contextStage: the contexts a send’s answer reports', () => {
  const run = (...messages: unknown[]) => {
    const call = { findings: [] as Finding[] } as unknown as StageCall;
    const stage = contextStage(call);
    for (const m of messages) expect(stage.onMessage(m as never)).toBeUndefined();
    return call.findings.map((f) => {
      expect(f).toMatchObject({ stage: CONTEXT_STAGE, kind: 'context_id', severity: 'info' });
      return f.detail?.contextId;
    });
  };

  it('reads v1.0 and v0.3 results and stream events, once per context', () => {
    expect(
      run(
        { result: { task: { id: 't1', contextId: 'c1' } } },
        { result: { statusUpdate: { taskId: 't1', contextId: 'c1' } } },
        { result: { artifactUpdate: { taskId: 't1', contextId: 'c2' } } },
        { result: { message: { messageId: 'm', contextId: 'c3' } } },
        { result: { kind: 'task', id: 't2', contextId: 'c4' } },
        { result: { kind: 'status-update', taskId: 't2', context_id: 'c5' } },
      ),
    ).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
  });

  it('records nothing for errors, empty or unrecordable ids; at most MAX_CLAIMED_CONTEXTS per answer', () => {
    expect(
      run(
        { error: { code: -32001, message: 'x' } },
        { result: { task: { contextId: '' } } },
        { result: { task: { contextId: 'x'.repeat(MAX_CONTEXT_ID + 1) } } },
        { result: { task: { contextId: 42 } } },
        null,
      ),
    ).toEqual([]);
    const many = Array.from({ length: MAX_CLAIMED_CONTEXTS + 5 }, (_, i) => ({
      result: { message: { contextId: `c${i}` } },
    }));
    expect(run(...many)).toHaveLength(MAX_CLAIMED_CONTEXTS);
  });

  it('wants an SSE event only when it may name a context', () => {
    const stage = contextStage({ findings: [] } as unknown as StageCall);
    expect(stage.wants?.('{"result":{"task":{"contextId":"c1"}}}')).toBe(true);
    expect(stage.wants?.('{"result":{"task":{"context_id":"c1"}}}')).toBe(true);
    expect(stage.wants?.('{"result":{"task":{"\\u0063ontextId":"c1"}}}')).toBe(true);
    expect(stage.wants?.('{"result":{"task":{"id":"t1"}}}')).toBe(false);
  });
});

describe('ownershipRefusal', () => {
  it('answers a task or context of another caller as an unknown one; nothing for other verdicts', () => {
    expect(ownershipRefusal({ verdict: 'task_unknown', sessionId: 's' })?.code).toBe('task_not_found');
    const context = ownershipRefusal({ verdict: 'context_unknown', sessionId: 's' });
    expect(context?.code).toBe('context_not_found');
    expect(context?.rpcCode).toBe(-32021);
    expect(ownershipRefusal({ verdict: 'admit', sessionId: 's' })).toBeNull();
  });
});
