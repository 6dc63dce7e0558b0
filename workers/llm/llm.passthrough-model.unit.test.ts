import { describe, expect, it } from 'vitest';
import { combineModels, formModel, jsonBodyModel, queryModel } from './llm.passthrough-model';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('the model a passthrough call names', () => {
  it('reads a JSON object body whatever its spacing, escapes or BOM', () => {
    expect(jsonBodyModel(bytes('{"model":"gpt-4o"}'))).toEqual({ kind: 'named', model: 'gpt-4o' });
    expect(jsonBodyModel(bytes(' \n\t{"mod\\u0065l" : "gpt-4o"}'))).toEqual({
      kind: 'named',
      model: 'gpt-4o',
    });
    expect(jsonBodyModel(bytes('\ufeff{"model":"gpt-4o"}'))).toEqual({ kind: 'named', model: 'gpt-4o' });
    expect(jsonBodyModel(bytes('{"model":"a","model":"b"}'))).toEqual({ kind: 'named', model: 'b' });
  });

  it('names none for bodies no JSON server would run, or without a top-level model', () => {
    for (const text of ['', 'model=gpt-4o', '["gpt-4o"]', '{"model":', '{"input":{"model":"gpt-4o"}}', '{}'])
      expect(jsonBodyModel(bytes(text)), text).toEqual({ kind: 'none' });
    expect(jsonBodyModel(new Uint8Array([0x7b, 0xff, 0x7d]))).toEqual({ kind: 'none' });
  });

  it('calls a model that is not plain text unreadable', () => {
    for (const text of [
      '{"model":["gpt-4o"]}',
      '{"model":null}',
      '{"model":"gpt-4o\\u200b"}',
      '{"model":"gpt 4o"}',
    ])
      expect(jsonBodyModel(bytes(text)).kind, text).toBe('unreadable');
  });

  it('reads form fields and the query: one model, or unreadable', () => {
    const form = (pairs: string) => new URLSearchParams(pairs);
    expect(formModel(form('model=whisper-1&x=1'))).toEqual({ kind: 'named', model: 'whisper-1' });
    expect(formModel(form('file=x'))).toEqual({ kind: 'none' });
    expect(formModel(form('model=a&model=b')).kind).toBe('unreadable');
    const withFile = new FormData();
    withFile.append('model', new Blob(['gpt-4o']));
    expect(formModel(withFile).kind).toBe('unreadable');
    expect(queryModel('')).toEqual({ kind: 'none' });
    expect(queryModel('?model=gpt-4o%2Drealtime')).toEqual({ kind: 'named', model: 'gpt-4o-realtime' });
    expect(queryModel('?mode=x')).toEqual({ kind: 'none' });
  });

  it('combines query and body: the stricter reading, two different names unreadable', () => {
    const none = { kind: 'none' } as const;
    const a = { kind: 'named', model: 'a' } as const;
    const b = { kind: 'named', model: 'b' } as const;
    const bad = { kind: 'unreadable', why: 'x' } as const;
    expect(combineModels(none, none)).toEqual(none);
    expect(combineModels(none, a)).toEqual(a);
    expect(combineModels(a, none)).toEqual(a);
    expect(combineModels(a, a)).toEqual(a);
    expect(combineModels(a, b).kind).toBe('unreadable');
    expect(combineModels(a, bad)).toEqual(bad);
    expect(combineModels(bad, a)).toEqual(bad);
  });
});
