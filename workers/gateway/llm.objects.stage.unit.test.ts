import { describe, expect, it } from 'vitest';
import type { StageCall } from './gateway.stages';
import { MAX_CLAIMED_ITEMS, objectClaimStage, ownedListStage } from './llm.objects.stage';
import type { LlmRequestRead } from './llm.response.access';

function request(endpoint: string, target: string, body: Record<string, unknown> | null): LlmRequestRead {
  return {
    units: [{ endpoint, body, forwarded: { target } }],
    upstreamPath: target.split(' ')[1]!,
    raw: null,
  } as unknown as LlmRequestRead;
}

const stageCall = (ownedTasks?: string[]) =>
  ({
    orgId: 'o',
    connectionId: `c${Math.random()}`,
    findings: [],
    ...(ownedTasks ? { ownedTasks } : {}),
  }) as unknown as StageCall;

const item = (id: string) => ({ type: 'message', id, content: [] });

describe('objectClaimStage: what an answer hands its caller', () => {
  it('a JSON response: its id (when stored) and its output items', () => {
    const call = stageCall();
    const stage = objectClaimStage(call, request('responses', 'POST /responses', { input: 'x' }))!;
    stage.onMessage({ object: 'response', id: 'resp_1', output: [item('msg_1'), item('rs_1'), { id: 7 }] });
    expect(call.findings).toEqual([
      { stage: 'llm_response', kind: 'response_created', severity: 'info', detail: { responseId: 'resp_1' } },
      {
        stage: 'llm_object',
        kind: 'object_created',
        severity: 'info',
        detail: { object: 'item', ids: ['msg_1', 'rs_1'] },
      },
    ]);
    expect(stage.done!()).toBe(true);
  });

  it('store: false claims the items only; a stream claims as items finish and from the final response', () => {
    const call = stageCall();
    const stage = objectClaimStage(call, request('responses', 'POST /responses', { store: false }))!;
    stage.onMessage({ type: 'response.created', response: { object: 'response', id: 'resp_1', output: [] } });
    stage.onMessage({ type: 'response.output_item.done', item: item('msg_1') });
    expect(stage.done!()).toBe(false);
    stage.onMessage({
      type: 'response.completed',
      response: { object: 'response', id: 'resp_1', output: [item('msg_1'), item('fc_1')] },
    });
    expect(call.findings.map((f) => f.detail)).toEqual([
      { object: 'item', ids: ['msg_1'] },
      { object: 'item', ids: ['fc_1'] },
    ]);
  });

  it('at most MAX_CLAIMED_ITEMS items per call', () => {
    const call = stageCall();
    const stage = objectClaimStage(call, request('responses', 'POST /responses', {}))!;
    const output = Array.from({ length: MAX_CLAIMED_ITEMS + 5 }, (_, i) => item(`msg_${i}`));
    stage.onMessage({ object: 'response', id: 'resp_1', output });
    expect((call.findings[1]!.detail!.ids as string[]).length).toBe(MAX_CLAIMED_ITEMS);
  });

  it('a stored chat completion: the first id of its JSON or chunks; none without store: true', () => {
    const call = stageCall();
    const stage = objectClaimStage(
      call,
      request('chat.completions', 'POST /chat/completions', { store: true }),
    )!;
    stage.onMessage({ object: 'chat.completion.chunk', id: 'chatcmpl-1', choices: [] });
    stage.onMessage({ object: 'chat.completion.chunk', id: 'chatcmpl-1', choices: [] });
    expect(call.findings.map((f) => f.detail)).toEqual([{ object: 'chat_completion', ids: ['chatcmpl-1'] }]);
    expect(
      objectClaimStage(stageCall(), request('chat.completions', 'POST /chat/completions', {})),
    ).toBeNull();
  });
});

describe('ownedListStage: a provider list cut to the caller’s own', () => {
  const list = request('passthrough', 'GET /chat/completions', null);
  const answer = {
    object: 'list',
    data: [{ id: 'c_1' }, { id: 'c_2' }, { id: 3 }, null],
    first_id: 'c_1',
    last_id: 'c_2',
    has_more: true,
  };

  it('keeps the caller’s entries; first_id follows, last_id and has_more are kept for paging', () => {
    expect(ownedListStage(stageCall(['c_2']), list)!.onMessage(answer)).toEqual({
      ...answer,
      data: [{ id: 'c_2' }],
      first_id: 'c_2',
    });
    // No owned ids (or an older guard that sent none): nothing shown.
    expect(ownedListStage(stageCall(), list)!.onMessage(answer)).toMatchObject({ data: [], first_id: null });
    expect(ownedListStage(stageCall(), request('passthrough', 'GET /chat/completions/c_1', null))).toBeNull();
  });
});

describe('objectClaimStage: files and batches', () => {
  it('an upload claims its file; a batch create the batch and its output and error files', () => {
    const call = stageCall();
    objectClaimStage(call, request('passthrough', 'POST /files', null))!.onMessage({
      object: 'file',
      id: 'file-1',
    });
    const batch = objectClaimStage(call, request('passthrough', 'POST /batches', null))!;
    batch.onMessage({ object: 'batch', id: 'batch_1', output_file_id: 'file-2', error_file_id: 'file-3' });
    expect(call.findings.map((f) => f.detail)).toEqual([
      { object: 'file', ids: ['file-1'] },
      { object: 'batch', ids: ['batch_1'] },
      { object: 'file', ids: ['file-2', 'file-3'] },
    ]);
  });

  it('an Anthropic upload (`{type: "file"}`) is claimed too', () => {
    const call = stageCall();
    objectClaimStage(call, request('passthrough', 'POST /files', null))!.onMessage({
      type: 'file',
      id: 'file_a',
    });
    expect(call.findings.map((f) => f.detail)).toEqual([{ object: 'file', ids: ['file_a'] }]);
  });

  it('a list of the caller’s batches claims their outputs, not the batches', () => {
    const call = stageCall();
    const stage = objectClaimStage(call, request('passthrough', 'GET /batches', null))!;
    stage.onMessage({ object: 'list', data: [{ object: 'batch', id: 'batch_1', output_file_id: 'file-9' }] });
    expect(call.findings.map((f) => f.detail)).toEqual([{ object: 'file', ids: ['file-9'] }]);
  });
});
