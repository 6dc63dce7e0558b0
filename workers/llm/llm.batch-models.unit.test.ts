/** The models a batch names (llm.batch-models.ts): each read where the provider reads it, or unreadable. */
import { describe, expect, it } from 'vitest';
import { MAX_FILE_MODEL, MAX_FILE_MODELS } from '../../durable-objects/llm.objects';
import {
  batchFileModels,
  batchLines,
  formBatchFile,
  jsonBodyModels,
  messageBatchModels,
  recordedModels,
} from './llm.batch-models';
import { combineModels } from './llm.passthrough-model';

/** A batch file's models, read as the adapter reads an upload (bytes, or a form). */
const jsonlModels = (b: Uint8Array) => batchFileModels(batchLines(b));
const formBatchModels = async (form: FormData) => {
  const file = await formBatchFile(form);
  return file ? batchFileModels(file) : { kind: 'none' };
};
const bytes = (text: string) => new TextEncoder().encode(text);
const line = (model: unknown) =>
  JSON.stringify({ custom_id: 'c', method: 'POST', url: '/v1/chat/completions', body: { model } });

describe('an Anthropic Message Batch', () => {
  it('names every model of its requests', () => {
    const body = {
      requests: [
        { custom_id: 'a', params: { model: 'claude-a', max_tokens: 1, messages: [] } },
        { custom_id: 'b', params: { model: 'claude-b', max_tokens: 1, messages: [] } },
        { custom_id: 'c', params: { model: 'claude-a', max_tokens: 1, messages: [] } },
      ],
    };
    expect(messageBatchModels(body)).toEqual({ kind: 'several', models: ['claude-a', 'claude-b'] });
    expect(messageBatchModels({ requests: [body.requests[0]] })).toEqual({
      kind: 'named',
      model: 'claude-a',
    });
  });

  it('is unreadable when a request has params without a text model', () => {
    for (const params of [{}, { model: 7 }, { model: 'claude\u200b' }, 'x', null, []])
      expect(
        messageBatchModels({ requests: [{ custom_id: 'a', params }] }).kind,
        JSON.stringify(params),
      ).toBe('unreadable');
  });

  it('is read from the raw body together with a top-level model, escapes included', () => {
    const raw = '{"model":"m-top","requests":[{"custom_id":"a","par\\u0061ms":{"model":"m-req"}}]}';
    expect(jsonBodyModels(bytes(raw))).toEqual({ kind: 'several', models: ['m-top', 'm-req'] });
    expect(jsonBodyModels(bytes('{"requests":"no"}'))).toEqual({ kind: 'none' });
  });
});

describe('a batch input file', () => {
  it('names the body.model of every line, blank lines and CRLF allowed', () => {
    const text = `${line('gpt-a')}\r\n\n${line('gpt-b')}\n${line('gpt-a')}\n`;
    expect(jsonlModels(bytes(text))).toEqual({ kind: 'several', models: ['gpt-a', 'gpt-b'] });
  });

  it('is unreadable when a line is not JSON, names no model, or the file is not UTF-8', () => {
    for (const text of [`${line('gpt-a')}\nnot json`, '{}', '{"body":{}}', '{"body":"x"}', line(['gpt-a'])])
      expect(jsonlModels(bytes(text)).kind, text).toBe('unreadable');
    expect(jsonlModels(new Uint8Array([0x7b, 0xff, 0x7d])).kind).toBe('unreadable');
  });

  it('is read from a form only when its purpose is batch', async () => {
    const form = (fields: Array<[string, string | Blob]>) => {
      const f = new FormData();
      for (const [k, v] of fields) f.append(k, v);
      return f;
    };
    const file = new Blob([`${line('gpt-x')}\n`]);
    expect(
      await formBatchModels(
        form([
          ['purpose', 'batch'],
          ['file', file],
        ]),
      ),
    ).toEqual({
      kind: 'named',
      model: 'gpt-x',
    });
    expect(
      await formBatchModels(
        form([
          ['purpose', ' Batch '],
          ['file', file],
        ]),
      ),
    ).toEqual({
      kind: 'named',
      model: 'gpt-x',
    });
    expect(
      await formBatchModels(
        form([
          ['purpose', 'fine-tune'],
          ['file', file],
        ]),
      ),
    ).toEqual({ kind: 'none' });
    for (const fields of [
      [
        ['purpose', 'batch'],
        ['purpose', 'assistants'],
        ['file', file],
      ],
      [['purpose', 'batch']],
      [
        ['purpose', 'batch'],
        ['file', 'text, not a file'],
      ],
      [
        ['purpose', 'batch'],
        ['file', file],
        ['file', file],
      ],
    ] as Array<Array<[string, string | Blob]>>)
      expect((await formBatchModels(form(fields))).kind).toBe('unreadable');
  });
});

describe('an upload in parts for a batch', () => {
  it('is unreadable: its lines never pass whole', () => {
    expect(jsonBodyModels(bytes('{"purpose":"batch","filename":"b.jsonl","bytes":10}')).kind).toBe(
      'unreadable',
    );
    expect(jsonBodyModels(bytes('{"purpose":"fine-tune","filename":"f.jsonl"}'))).toEqual({ kind: 'none' });
  });
});

describe('readings combined', () => {
  it('adds a batch to a single name, and still refuses two single names', () => {
    expect(combineModels({ kind: 'named', model: 'a' }, { kind: 'several', models: ['b', 'c'] })).toEqual({
      kind: 'several',
      models: ['a', 'b', 'c'],
    });
    expect(combineModels({ kind: 'named', model: 'a' }, { kind: 'named', model: 'b' }).kind).toBe(
      'unreadable',
    );
    expect(combineModels({ kind: 'named', model: 'a' }, { kind: 'named', model: 'a' })).toEqual({
      kind: 'named',
      model: 'a',
    });
  });
});

describe('a batch file read line by line', () => {
  it('keeps every line that parses, and says why a strict reading fails', () => {
    const file = batchLines(bytes(`${line('a')}\nnot json\n[1]\n${line('b')}\n`));
    expect(file.lines.map((l) => (l.body as { model: string }).model)).toEqual(['a', 'b']);
    expect(file.unreadable).toBe('line 2 of the batch file is not JSON');
    const latin = batchLines(new Uint8Array([...bytes(`${line('c')}\n`), 0xff, 0x0a]));
    expect(latin.lines).toHaveLength(1);
    expect(latin.unreadable).toBe('the batch file is not UTF-8');
  });
});

describe('the models recorded with a batch file at its upload', () => {
  const lines = (...models: unknown[]) => batchLines(bytes(models.map(line).join('\n')));

  it('are its distinct models, whatever the connection allows', () => {
    expect(recordedModels(lines('b', 'a', 'b'))).toEqual(['b', 'a']);
    expect(recordedModels(lines('gpt-4o'))).toEqual(['gpt-4o']);
  });

  it('are unknown (null) when the file is not read, not readable, names none or more than the bounds', () => {
    expect(recordedModels(null)).toBeNull();
    expect(recordedModels(batchLines(bytes('')))).toBeNull();
    expect(recordedModels(batchLines(bytes(`${line('a')}\nnot json`)))).toBeNull();
    expect(recordedModels(lines('a', 7))).toBeNull();
    expect(recordedModels(lines('a', 'with space'))).toBeNull();
    const many = Array.from({ length: MAX_FILE_MODELS }, (_, i) => `m${i}`);
    expect(recordedModels(lines(...many))).toEqual(many);
    expect(recordedModels(lines(...many, 'one-more'))).toBeNull();
    expect(recordedModels(lines('m'.repeat(MAX_FILE_MODEL)))).toEqual(['m'.repeat(MAX_FILE_MODEL)]);
    expect(recordedModels(lines('m'.repeat(MAX_FILE_MODEL + 1)))).toBeNull();
  });
});
