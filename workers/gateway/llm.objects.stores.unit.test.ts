import { describe, expect, it } from 'vitest';
import type { StageCall } from './gateway.stages';
import { objectClaimStage, ownedListStage } from './llm.objects.stage';
import { type LlmRequestRead, responseAccess, responseUse } from './llm.response.access';

function request(
  endpoint: string,
  target: string,
  body: Record<string, unknown> | null = null,
  raw: unknown = null,
  shares = false,
): LlmRequestRead {
  return {
    units: [{ endpoint, body, forwarded: { target } }],
    upstreamPath: target.split(' ')[1]!,
    raw: raw === null ? null : new TextEncoder().encode(JSON.stringify(raw)),
    sharesProviderObjects: shares,
  } as unknown as LlmRequestRead;
}

const path = (target: string, raw: unknown = null) =>
  responseAccess(request('passthrough', target, null, raw));
const fault = (target: string, raw: unknown = null, shares = false) =>
  responseUse(request('passthrough', target, null, raw, shares)).fault;
const names = (...ids: string[]) => ({ protocol: 'llm-response', ids });

describe('Anthropic Message Batches', () => {
  it('a path id names the batch in any spelling; GET lists; a create names the files its requests read', () => {
    for (const target of [
      'GET /messages/batches/mb_1',
      'GET /messages/batches/mb_1/results',
      'POST /messages/batches/mb_1/cancel',
      'DELETE /messages/batches/mb_1',
      'GET /Messages//BATCHES/mb_1',
      'GET /v1/messages/batches%2Fmb_1',
    ])
      expect(path(target), target).toEqual(names('~message_batch:mb_1'));
    expect(path('GET /messages/batches')).toEqual({
      protocol: 'llm-response',
      list: true,
      objects: 'message_batch',
    });
    const document = (id: unknown) => ({
      custom_id: 'a',
      params: {
        messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'file', file_id: id } }] }],
      },
    });
    const create = { requests: [{ custom_id: 'x', params: { messages: [] } }, document('file_1')] };
    expect(path('POST /messages/batches', create)).toEqual(names('~file:file_1'));
    expect(responseUse(request('passthrough', 'POST /messages/batches', null, create)).claims).toEqual([
      'message_batch',
    ]);
    expect(fault('POST /messages/batches', { requests: [document(7)] })?.details).toEqual({
      location: 'body',
      path: 'requests[0].params.messages[0].content[0].source.file_id',
    });
    const many = { requests: Array.from({ length: 1001 }, (_, i) => document(`f${i}`)) };
    expect(fault('POST /messages/batches', many)?.code).toBe('validation_failed');
    const container = { requests: [{ custom_id: 'c', params: { messages: [], container: 'container_1' } }] };
    expect(fault('POST /messages/batches', container)?.code).toBe('shared_object_refused');
    expect(fault('POST /messages/batches', container, true)).toBeNull();
  });
});

describe('fine-tuning jobs', () => {
  it('a path id names the job; GET lists; a create names its training and validation files', () => {
    for (const sub of ['', '/cancel', '/pause', '/resume', '/events', '/checkpoints'])
      expect(path(`GET /fine_tuning/jobs/ftjob-1${sub}`), sub).toEqual(names('~fine_tuning_job:ftjob-1'));
    expect(path('GET /Fine_Tuning/Jobs')).toEqual({
      protocol: 'llm-response',
      list: true,
      objects: 'fine_tuning_job',
    });
    expect(
      path('POST /fine_tuning/jobs', { model: 'm', training_file: 'f_t', validation_file: 'f_v' }),
    ).toEqual(names('~file:f_t', '~file:f_v'));
    expect(responseUse(request('passthrough', 'POST /fine_tuning/jobs', null, {})).claims).toEqual([
      'fine_tuning_job',
      'fine_tuning_files',
    ]);
    for (const bad of [1, '', ['f'], 'f'.repeat(201)])
      expect(fault('POST /fine_tuning/jobs', { training_file: bad })?.code, String(bad)).toBe(
        'validation_failed',
      );
    // Another fine_tuning resource (checkpoint permissions, graders) is not a job.
    expect(path('GET /fine_tuning/checkpoints/ft:m/permissions')).toBeUndefined();
  });
});

describe('vector stores', () => {
  it('a path id names the store, and the file it names; creates and attaches name their files', () => {
    for (const target of [
      'GET /vector_stores/vs_1',
      'POST /vector_stores/vs_1',
      'DELETE /vector_stores/vs_1',
      'POST /vector_stores/vs_1/search',
      'GET /vector_stores/vs_1/files',
      'GET /vector_stores/vs_1/file_batches/vsfb_1/files',
      'POST /vector_stores/vs_1/file_batches/vsfb_1/cancel',
    ])
      expect(path(target, {}), target).toEqual(names('~vector_store:vs_1'));
    expect(path('GET /Vector_Stores/vs_1/files/f_1/content')).toEqual(
      names('~vector_store:vs_1', '~file:f_1'),
    );
    expect(path('DELETE /vector_stores/vs_1/files/f_1')).toEqual(names('~vector_store:vs_1', '~file:f_1'));
    expect(path('POST /vector_stores/vs_1/files', { file_id: 'f_1' })).toEqual(
      names('~vector_store:vs_1', '~file:f_1'),
    );
    expect(
      path('POST /vector_stores/vs_1/file_batches', { file_ids: ['f_1'], files: [{ file_id: 'f_2' }] }),
    ).toEqual(names('~vector_store:vs_1', '~file:f_1', '~file:f_2'));
    expect(path('POST /vector_stores', { name: 'n', file_ids: ['f_1', 'f_2'] })).toEqual(
      names('~file:f_1', '~file:f_2'),
    );
    expect(responseUse(request('passthrough', 'POST /vector_stores', null, {})).claims).toEqual([
      'vector_store',
    ]);
    expect(path('GET /vector_stores')).toEqual({
      protocol: 'llm-response',
      list: true,
      objects: 'vector_store',
    });
    for (const [target, body] of [
      ['POST /vector_stores', { file_ids: 'f_1' }],
      ['POST /vector_stores', { file_ids: [null] }],
      ['POST /vector_stores', { file_ids: Array.from({ length: 1001 }, (_, i) => `f${i}`) }],
      ['POST /vector_stores/vs_1/files', { file_id: 3 }],
      ['POST /vector_stores/vs_1/file_batches', { files: { file_id: 'f' } }],
    ] as const)
      expect(fault(target, body)?.code, JSON.stringify(body).slice(0, 40)).toBe('validation_failed');
  });

  it('a Responses create names the stores its file_search tool searches and its code interpreter’s files', () => {
    const create = (tools: unknown[], shares = false) =>
      responseUse({
        ...request('responses', 'POST /responses', { input: 'x', tools }),
        sharesProviderObjects: shares,
      });
    expect(create([{ type: 'file_search', vector_store_ids: ['vs_1', 'vs_2'] }]).ids).toEqual([
      '~vector_store:vs_1',
      '~vector_store:vs_2',
    ]);
    expect(
      create([{ type: 'code_interpreter', container: { type: 'auto', file_ids: ['f_1'] } }]).ids,
    ).toEqual(['~file:f_1']);
    expect(create([{ type: 'code_interpreter', container: 'cntr_1' }]).fault?.code).toBe(
      'shared_object_refused',
    );
    expect(create([{ type: 'code_interpreter', container: 'cntr_1' }], true).fault).toBeNull();
    expect(create([{ type: 'file_search', vector_store_ids: 'vs_1' }]).fault?.code).toBe('validation_failed');
    const prompted = (prompt: unknown) =>
      responseUse(request('responses', 'POST /responses', { input: 'x', prompt }));
    expect(
      prompted({ id: 'pmpt_1', variables: { doc: { type: 'input_file', file_id: 'f_9' }, name: 'text' } })
        .ids,
    ).toEqual(['~file:f_9']);
    expect(
      prompted({ id: 'pmpt_1', variables: { doc: { type: 'input_file', file_id: 9 } } }).fault?.details,
    ).toEqual({ location: 'body', path: 'prompt.variables.doc.file_id' });
    const messages = (body: Record<string, unknown>) =>
      responseUse(request('messages', 'POST /messages', body)).fault;
    expect(messages({ messages: [], container: 'container_1' })?.code).toBe('shared_object_refused');
    expect(messages({ messages: [], container: { id: 'container_1' } })?.code).toBe('shared_object_refused');
    expect(messages({ messages: [], container: { skills: [] } })).toBeNull();
  });
});

describe('an Anthropic Messages create by another spelling of its path', () => {
  it('names the files its messages read, and refuses a container unless shared', () => {
    const body = {
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f_1' } }] }],
    };
    for (const target of ['POST /messages/', 'POST /v1/Messages//', 'POST /messages/count_tokens/'])
      expect(path(target, body), target).toEqual(names('~file:f_1'));
    expect(fault('POST /messages/', { messages: [], container: 'container_1' })?.code).toBe(
      'shared_object_refused',
    );
    expect(path('GET /messages/')).toBeUndefined();
  });
});

describe('uploads and the objects nobody is recorded for', () => {
  it('an upload create claims the upload; parts, complete and cancel name it and claim its file', () => {
    expect(responseUse(request('passthrough', 'POST /uploads', null, {})).claims).toEqual(['upload']);
    for (const sub of ['parts', 'complete', 'cancel']) {
      const use = responseUse(request('passthrough', `POST /uploads/upload_1/${sub}`, null, {}));
      expect(use.ids, sub).toEqual(['~upload:upload_1']);
      expect(use.claims, sub).toEqual(['upload_file']);
    }
  });

  it('Assistants, threads, containers, evals and videos are refused unless the connection shares them', () => {
    for (const target of [
      'POST /assistants',
      'GET /assistants/asst_1',
      'POST /threads/runs',
      'GET /threads/thread_1/messages',
      'GET /v1/Threads/thread_1/runs/run_1',
      'GET /containers/cntr_1/files/cfile_1/content',
      'GET /evals/eval_1/runs',
      'GET /videos/video_1/content',
    ]) {
      expect(fault(target, {}), target).toMatchObject({ code: 'shared_object_refused', status: 403 });
      expect(fault(target, {}, true), target).toBeNull();
      expect(responseAccess(request('passthrough', target, null, {}, true)), target).toBeUndefined();
    }
  });
});

const stageCall = (ownedTasks?: string[]) =>
  ({
    orgId: 'o',
    connectionId: `c${Math.random()}`,
    findings: [],
    ...(ownedTasks ? { ownedTasks } : {}),
  }) as unknown as StageCall;
const claimed = (call: StageCall) => call.findings.map((f) => f.detail);

describe('what these answers hand their caller', () => {
  it('claims a created message batch, job, vector store and upload', () => {
    for (const [target, answer, object] of [
      ['POST /messages/batches', { type: 'message_batch', id: 'mb_1' }, 'message_batch'],
      [
        'POST /fine_tuning/jobs',
        { object: 'fine_tuning.job', id: 'ftjob-1', result_files: [] },
        'fine_tuning_job',
      ],
      ['POST /vector_stores', { object: 'vector_store', id: 'vs_1' }, 'vector_store'],
      ['POST /uploads', { object: 'upload', id: 'upload_1', file: null }, 'upload'],
    ] as const) {
      const call = stageCall();
      objectClaimStage(call, request('passthrough', target, null, {}))!.onMessage(answer);
      expect(claimed(call), target).toEqual([{ object, ids: [answer.id] }]);
    }
  });

  it('a completed upload’s file and a job’s result files become the caller’s; nothing for another shape', () => {
    const call = stageCall();
    objectClaimStage(call, request('passthrough', 'POST /uploads/upload_1/complete', null, {}))!.onMessage({
      object: 'upload',
      id: 'upload_1',
      status: 'completed',
      file: { object: 'file', id: 'file_9' },
    });
    expect(claimed(call)).toEqual([{ object: 'file', ids: ['file_9'] }]);
    const jobs = stageCall();
    objectClaimStage(jobs, request('passthrough', 'GET /fine_tuning/jobs', null))!.onMessage({
      object: 'list',
      data: [{ object: 'fine_tuning.job', id: 'ftjob-1', result_files: ['file_r', 7] }],
    });
    expect(claimed(jobs)).toEqual([{ object: 'file', ids: ['file_r'] }]);
    const wrong = stageCall();
    objectClaimStage(wrong, request('passthrough', 'POST /vector_stores', null, {}))!.onMessage({
      object: 'vector_store.file',
      id: 'vs_1',
    });
    expect(claimed(wrong)).toEqual([]);
  });

  it('an Anthropic list keeps only the caller’s batches', () => {
    const list = request('passthrough', 'GET /messages/batches', null);
    const answer = {
      data: [{ id: 'mb_1' }, { id: 'mb_2' }],
      has_more: false,
      first_id: 'mb_1',
      last_id: 'mb_2',
    };
    expect(ownedListStage(stageCall(['mb_2']), list)!.onMessage(answer)).toEqual({
      ...answer,
      data: [{ id: 'mb_2' }],
      first_id: 'mb_2',
    });
  });
});
