import { describe, expect, it } from 'vitest';
import { routedSegments } from './llm.passthrough-read';
import { type LlmRequestRead, responseAccess, responseUse } from './llm.response.access';

function request(
  endpoint: string,
  target: string,
  body: Record<string, unknown> | null = null,
  raw: string | null = null,
): LlmRequestRead {
  const path = target.split(' ')[1]!;
  return {
    units: [{ endpoint, body, forwarded: { target } }],
    upstreamPath: path,
    raw: raw === null ? null : new TextEncoder().encode(raw),
  } as unknown as LlmRequestRead;
}

describe('which stored responses a call names', () => {
  it('reads a path as a provider may route it', () => {
    expect(routedSegments('/responses//./resp_1/../resp_2')).toEqual(['responses', 'resp_2']);
    expect(routedSegments('/responses%2Fresp_1')).toEqual(['responses', 'resp_1']);
    expect(routedSegments('/responses%252Fresp_1')).toEqual(['responses', 'resp_1']);
    expect(routedSegments('/responses\\resp_1')).toEqual(['responses', 'resp_1']);
    expect(routedSegments('/responses%25252525252Fresp_1')).toBeNull(); // decodes on and on
    expect(routedSegments('/responses/%E0%A4%A')).toBeNull();
  });

  it('a create names its previous_response_id, and stores unless store is false', () => {
    const create = (body: Record<string, unknown>) =>
      responseUse(request('responses', 'POST /responses', body));
    expect(create({ input: 'x' })).toMatchObject({ ids: [], creates: true, fault: null });
    expect(create({ input: 'x', store: false })).toMatchObject({ ids: [], creates: false });
    expect(create({ previous_response_id: 'resp_1' })).toMatchObject({ ids: ['resp_1'], creates: true });
    expect(create({ previous_response_id: null })).toMatchObject({ ids: [], fault: null });
    for (const bad of [1, '', [], {}, 'r'.repeat(201)])
      expect(create({ previous_response_id: bad }).fault?.code).toBe('validation_failed');
    expect(create({ conversation: 'conv_1' }).fault?.code).toBe('conversation_unverifiable');
    expect(create({ conversation: { id: 'conv_1' }, previous_response_id: 'resp_1' }).fault?.code).toBe(
      'conversation_unverifiable',
    );
  });

  it('a passthrough path names the segment after `responses`, wherever it is', () => {
    const path = (target: string, raw: string | null = null) =>
      responseAccess(request('passthrough', target, null, raw));
    for (const target of [
      'GET /responses/resp_1',
      'GET /responses/resp_1/input_items',
      'POST /responses/resp_1/cancel',
      'DELETE /responses/resp_1',
      'GET /Responses/resp_1',
      'GET /v1/responses/resp_1',
      'GET /openai/responses/resp_1/anything/else',
    ])
      expect(path(target), target).toEqual({ protocol: 'llm-response', ids: ['resp_1'] });
    expect(path('POST /responses/input_tokens', '{"previous_response_id":"resp_1"}')).toEqual({
      protocol: 'llm-response',
      ids: ['resp_1'],
    });
    expect(path('POST /responses/', '{"model":"m","previous_response_id":"resp_1"}')?.ids).toEqual([
      'resp_1',
    ]);
    expect(path('POST /responses/compact', '{"model":"m"}')).toBeUndefined();
    expect(path('GET /models')).toBeUndefined();
    expect(path('POST /conversations')).toBeUndefined();
    expect(responseUse(request('passthrough', 'GET /conversations/conv_1')).fault?.code).toBe(
      'conversation_unverifiable',
    );
    expect(
      responseUse(request('passthrough', 'POST /responses/input_tokens', null, 'not json')).fault?.code,
    ).toBe('parse_error');
  });

  it('other endpoints name nothing', () => {
    expect(
      responseAccess(request('chat.completions', 'POST /chat/completions', { messages: [] })),
    ).toBeUndefined();
    expect(responseAccess(null)).toBeUndefined();
  });
});

describe('which other stored objects a call names, creates or lists', () => {
  const create = (body: Record<string, unknown>) =>
    responseUse(request('responses', 'POST /responses', body));

  it('a create’s input names each item carrying an id, in every form, once', () => {
    const use = create({
      previous_response_id: 'resp_1',
      input: [
        { type: 'item_reference', id: 'msg_1' },
        { id: 'rs_1' },
        { type: 'message', role: 'assistant', id: 'msg_1', content: [] },
        { type: 'message', role: 'user', content: 'no id' },
        'not an item',
      ],
    });
    expect(use.ids).toEqual(['resp_1', '~item:msg_1', '~item:rs_1']);
    expect(use.claims).toEqual(['response', 'items']);
    // store: false keeps no response, but its items still come back to the caller to pass on.
    expect(create({ input: 'x', store: false }).claims).toEqual(['items']);
    for (const bad of [1, '', 'm'.repeat(201)])
      expect(create({ input: [{ type: 'item_reference', id: bad }] }).fault?.details).toEqual({
        location: 'body',
        path: 'input[0].id',
      });
    const many = Array.from({ length: 1_001 }, (_, i) => ({ id: `msg_${i}` }));
    expect(create({ input: many }).fault?.code).toBe('validation_failed');
    // Counting input tokens reads the same items, and creates nothing.
    const counted = responseUse(
      request('responses.input_tokens', 'POST /responses/input_tokens', { input: [{ id: 'msg_1' }] }),
    );
    expect(counted).toMatchObject({ ids: ['~item:msg_1'], claims: [] });
  });

  it('stored chat completions: a create with store: true claims; by-id paths name; the list lists', () => {
    const chat = (body: Record<string, unknown>) =>
      responseUse(request('chat.completions', 'POST /chat/completions', body)).claims;
    expect(chat({ store: true })).toEqual(['chat_completion']);
    expect(chat({})).toEqual([]);
    expect(chat({ store: 'true' })).toEqual([]);
    for (const target of [
      'GET /chat/completions/c_1',
      'GET /chat/completions/c_1/messages',
      'POST /chat/completions/c_1',
      'DELETE /chat/completions/c_1',
      'GET /Chat//COMPLETIONS/c_1',
      'GET /chat/completions%2Fc_1',
      'GET /v1/chat/completions/c_1',
    ])
      expect(responseAccess(request('passthrough', target)), target).toEqual({
        protocol: 'llm-response',
        ids: ['~chat_completion:c_1'],
      });
    expect(responseAccess(request('passthrough', 'GET /chat/completions'))).toEqual({
      protocol: 'llm-response',
      list: true,
      objects: 'chat_completion',
    });
    // A create by another spelling of its path claims as the create does.
    const spelled = request('passthrough', 'POST /chat/completions/', null, '{"store":true}');
    expect(responseUse(spelled).claims).toEqual(['chat_completion']);
    expect(responseAccess(request('passthrough', 'GET /chat/other'))).toBeUndefined();
  });
});

describe('files and batches', () => {
  const path = (target: string, raw: string | null = null) =>
    responseAccess(request('passthrough', target, null, raw));

  it('by-id paths name the file or batch; lists list; `batches` after `messages` is Anthropic’s (a message batch)', () => {
    for (const target of ['GET /files/f_1', 'GET /files/f_1/content', 'DELETE /files/f_1', 'GET /FILES//f_1'])
      expect(path(target), target).toEqual({ protocol: 'llm-response', ids: ['~file:f_1'] });
    for (const target of ['GET /batches/b_1', 'POST /batches/b_1/cancel', 'GET /x/../batches/b_1'])
      expect(path(target), target).toEqual({ protocol: 'llm-response', ids: ['~batch:b_1'] });
    expect(path('GET /files')).toEqual({ protocol: 'llm-response', list: true, objects: 'file' });
    expect(path('GET /batches')).toEqual({ protocol: 'llm-response', list: true, objects: 'batch' });
    // Anthropic's Message Batches are owned too (llm.objects.stores.ts): a message batch, not a batch.
    expect(path('POST /messages/batches/msgbatch_1/cancel')).toEqual({
      protocol: 'llm-response',
      ids: ['~message_batch:msgbatch_1'],
    });
  });

  it('an upload claims its file; a batch create names its input file and claims the batch and its outputs', () => {
    expect(responseUse(request('passthrough', 'POST /files', null, '--x\r\n')).claims).toEqual(['file']);
    const create = responseUse(request('passthrough', 'POST /batches', null, '{"input_file_id":"f_1"}'));
    expect(create).toMatchObject({ ids: ['~file:f_1'], claims: ['batch', 'batch_files'] });
    expect(responseUse(request('passthrough', 'GET /batches/b_1')).claims).toEqual(['batch_files']);
    for (const bad of ['{"input_file_id":7}', '{"input_file_id":""}', 'not json'])
      expect(responseUse(request('passthrough', 'POST /batches', null, bad)).fault, bad).not.toBeNull();
  });

  it('a file named in a prompt: a Responses input part, a chat message part', () => {
    const responses = responseUse(
      request('responses', 'POST /responses', {
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'x' },
              { type: 'input_file', file_id: 'f_1' },
            ],
          },
        ],
      }),
    );
    expect(responses.ids).toEqual(['~file:f_1']);
    const chat = responseUse(
      request('chat.completions', 'POST /chat/completions', {
        messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'f_2' } }] }],
      }),
    );
    expect(chat).toMatchObject({ ids: ['~file:f_2'], claims: [] });
    const bad = responseUse(
      request('chat.completions', 'POST /chat/completions', {
        messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 3 } }] }],
      }),
    );
    expect(bad.fault?.details).toEqual({ location: 'body', path: 'messages[0].content[0].file.file_id' });
    // Anthropic: a document or image from the Files API, also inside a tool result.
    const anthropic = responseUse(
      request('messages', 'POST /messages', {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'document', source: { type: 'file', file_id: 'file_a' } },
              {
                type: 'tool_result',
                content: [{ type: 'image', source: { type: 'file', file_id: 'file_b' } }],
              },
            ],
          },
        ],
      }),
    );
    expect(anthropic.ids).toEqual(['~file:file_a', '~file:file_b']);
    expect(anthropic.named[1]!.path).toBe('messages[0].content[1].content[0].source.file_id');
  });
});

describe('a batch input file names what its requests will read', () => {
  const upload = (lines: unknown[], unreadable: string | null = null) =>
    responseUse({
      ...request('passthrough', 'POST /files'),
      batchFile: { lines: lines as Array<Record<string, unknown>>, unreadable },
    } as LlmRequestRead);

  it('every request, read as a Responses create and as a chat create, whatever its url says', () => {
    const use = upload([
      { custom_id: 'a', url: '/v1/responses', body: { model: 'm', previous_response_id: 'resp_A' } },
      {
        custom_id: 'b',
        url: '/v1//Chat/completions/',
        body: {
          model: 'm',
          messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-A' } }] }],
        },
      },
      // Its url says chat, its body is a Responses create: read both ways.
      { custom_id: 'c', url: '/v1/chat/completions', body: { model: 'm', previous_response_id: 'resp_B' } },
      { custom_id: 'd', url: '/v1/embeddings', body: { model: 'e', input: 'text' } },
    ]);
    expect(use.fault).toBeNull();
    expect(use.ids).toEqual(['resp_A', '~file:file-A', 'resp_B']);
    expect(use.named.map((n) => n.path)).toEqual([
      'file request 1: previous_response_id',
      expect.stringMatching(/^file request 2: messages/),
      'file request 3: previous_response_id',
    ]);
    expect(use.claims).toEqual(['file']);
  });

  it('a request that names an object wrongly is refused with its number; an unreadable file still has its lines read', () => {
    const bad = upload([{}, { body: { previous_response_id: 7 } }]);
    expect(bad.fault?.code).toBe('validation_failed');
    expect(bad.fault?.message).toMatch(/^Request 2 of the batch input file/);
    expect(
      upload([{ body: { previous_response_id: 'resp_X' } }], 'line 1 of the batch file is not JSON').ids,
    ).toEqual(['resp_X']);
    // An upload for another purpose (no batch file): its file is claimed, nothing read.
    expect(responseUse(request('passthrough', 'POST /files'))).toMatchObject({ ids: [], claims: ['file'] });
  });
});
