import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../lib/hex.ts';
import {
  approvalArguments,
  approvalContent,
  approvalMethod,
  approvalName,
  bindingHash,
  canonicalJson,
  formFingerprint,
} from './approval.hash.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps arrays in order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[2,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });

  it('tells apart what differs in value or type, and drops undefined members', () => {
    expect(canonicalJson({ amount: 1000 })).not.toBe(canonicalJson({ amount: '1000' }));
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson({ 'a"b': 'x\n' })).toBe('{"a\\"b":"x\\n"}');
  });
});

describe('hashes', () => {
  it('sha256Hex is the standard digest', async () => {
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('the binding changes with the caller, the tool and the arguments', async () => {
    const caller = { connectionId: 'con_1', apiKeyId: 'key_1', userId: 'usr_1', user: null };
    const base = await bindingHash(caller, 'transfer', 'h1', 'tools/call');
    expect(await bindingHash({ ...caller }, 'transfer', 'h1', 'tools/call')).toBe(base);
    expect(await bindingHash({ ...caller, apiKeyId: 'key_2' }, 'transfer', 'h1', 'tools/call')).not.toBe(
      base,
    );
    expect(await bindingHash({ ...caller, user: 'alice' }, 'transfer', 'h1', 'tools/call')).not.toBe(base);
    expect(await bindingHash(caller, 'transfer_all', 'h1', 'tools/call')).not.toBe(base);
    expect(await bindingHash(caller, 'transfer', 'h2', 'tools/call')).not.toBe(base);
    // The same name under another method is another call (resources/read vs resources/subscribe).
    expect(await bindingHash(caller, 'transfer', 'h1', 'prompts/get')).not.toBe(base);
  });
});

describe('approvalArguments', () => {
  it('reads an MCP call’s arguments, an LLM body, and A2A params without the message id', () => {
    expect(
      approvalArguments('mcp', { method: 'tools/call', params: { name: 't', arguments: { a: 1 } } }),
    ).toEqual({ a: 1 });
    expect(approvalArguments('mcp', { method: 'tools/call', params: { name: 't' } })).toBeNull();
    // A completion's content is its `argument` (and context), not `arguments`: bound too.
    const complete = (value: string) => ({
      method: 'completion/complete',
      params: { ref: { type: 'ref/prompt', name: 'p' }, argument: { name: 'q', value }, _meta: { t: 1 } },
    });
    expect(approvalArguments('mcp', complete('a'))).not.toEqual(approvalArguments('mcp', complete('b')));
    expect(approvalArguments('mcp', complete('a'))).toEqual({
      ref: { type: 'ref/prompt', name: 'p' },
      argument: { name: 'q', value: 'a' },
    });
    expect(approvalArguments('llm', { body: { model: 'm' } })).toEqual({ model: 'm' });
    const a2a = (messageId: string) => ({
      message: { params: { message: { messageId, parts: [{ kind: 'text', text: 'hi' }] } } },
    });
    expect(approvalArguments('a2a', a2a('m1'))).toEqual(approvalArguments('a2a', a2a('m2')));
    expect(approvalArguments('a2a', a2a('m1'))).toEqual({
      message: { parts: [{ kind: 'text', text: 'hi' }] },
    });
  });
});

describe('approvalContent', () => {
  it('binds an LLM passthrough or multipart call by its target and raw body; a JSON call by its body', async () => {
    const pass = (target: string, raw: string) => ({
      endpoint: 'passthrough',
      body: null,
      forwarded: { target, raw: new TextEncoder().encode(raw) },
    });
    const a = await approvalContent('llm', pass('POST /files/a', 'x'));
    expect(a).toEqual({ request: 'POST /files/a', body: null, bodySha256: await sha256Hex('x') });
    expect(await approvalContent('llm', pass('POST /files/b', 'x'))).not.toEqual(a);
    expect(await approvalContent('llm', pass('POST /files/a', 'y'))).not.toEqual(a);
    const json = {
      endpoint: 'embeddings',
      body: { model: 'm' },
      forwarded: { target: 'POST /embeddings', raw: null },
    };
    expect(await approvalContent('llm', json)).toEqual({ model: 'm' });
  });

  it('binds a multipart form by its entries, whatever bytes (boundary) it is forwarded in', async () => {
    const form = (entries: Array<[string, string | File]>) => {
      const f = new FormData();
      for (const [name, value] of entries) f.append(name, value);
      return f;
    };
    const file = (text: string, name = 'a.jsonl', type = 'application/jsonl') =>
      new File([text], name, { type });
    const upload = (f: FormData, raw: string) => ({
      endpoint: 'passthrough',
      body: null,
      forwarded: { target: 'POST /files', raw: new TextEncoder().encode(raw), form: f },
    });
    const base = form([
      ['purpose', 'batch'],
      ['file', file('{"a":1}')],
    ]);
    const a = await approvalContent('llm', upload(base, '--one-boundary…'));
    expect(a).toEqual({
      request: 'POST /files',
      body: null,
      formSha256: await sha256Hex(await formFingerprint(base)),
    });
    // The same entries under other bytes: the same call.
    const same = form([
      ['purpose', 'batch'],
      ['file', file('{"a":1}')],
    ]);
    expect(await approvalContent('llm', upload(same, '--another-boundary…'))).toEqual(a);
    // Any other entry — a value, a file's contents, name or type, the order, one more — another call.
    for (const other of [
      [
        ['purpose', 'fine-tune'],
        ['file', file('{"a":1}')],
      ],
      [
        ['purpose', 'batch'],
        ['file', file('{"a":2}')],
      ],
      [
        ['purpose', 'batch'],
        ['file', file('{"a":1}', 'b.jsonl')],
      ],
      [
        ['purpose', 'batch'],
        ['file', file('{"a":1}', 'a.jsonl', 'text/plain')],
      ],
      [
        ['file', file('{"a":1}')],
        ['purpose', 'batch'],
      ],
      [
        ['purpose', 'batch'],
        ['file', file('{"a":1}')],
        ['purpose', 'batch'],
      ],
      // A text field holding what a file holds is not that file.
      [
        ['purpose', 'batch'],
        ['file', '{"a":1}'],
      ],
    ] as Array<Array<[string, string | File]>>)
      expect(await approvalContent('llm', upload(form(other), '--one-boundary…'))).not.toEqual(a);
  });
});

describe('approvalMethod', () => {
  it('names the MCP method, the LLM endpoint, the A2A canonical method', () => {
    expect(approvalMethod('mcp', { method: 'resources/read' })).toBe('resources/read');
    expect(approvalMethod('llm', { endpoint: 'embeddings', model: 'm' })).toBe('embeddings');
    expect(approvalMethod('a2a', { canonical: 'SendMessage' })).toBe('SendMessage');
    expect(approvalMethod('mcp', { id: 1, result: {} })).toBe('mcp');
  });
});

describe('approvalName', () => {
  it('names an LLM unit without a model by its endpoint, anything else by its protocol', () => {
    expect(approvalName('llm', { endpoint: 'models', model: null })).toBe('models');
    expect(approvalName('mcp', { jsonrpc: '2.0' })).toBe('mcp');
  });
});
