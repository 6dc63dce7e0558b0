import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors';
import {
  reencodeMultipart,
  reencodeUrlencoded,
  URLENCODED_TYPE,
  urlencodedEntries,
} from './llm.form-reencode';

describe('reencodeUrlencoded', () => {
  it('writes the entries read, so that any parser reads them back, `;` and `{` escaped', () => {
    const entries = urlencodedEntries(
      new TextEncoder().encode('purpose=x;model=gpt-4o&model=a+b&{"model":"c"}'),
    );
    expect(entries).toEqual([
      ['purpose', 'x;model=gpt-4o'],
      ['model', 'a b'],
      ['{"model":"c"}', ''],
    ]);
    const { bytes, contentType } = reencodeUrlencoded(entries, 1024);
    const text = new TextDecoder().decode(bytes);
    expect(contentType).toBe(URLENCODED_TYPE);
    expect(text).toBe('purpose=x%3Bmodel%3Dgpt-4o&model=a+b&%7B%22model%22%3A%22c%22%7D=');
    expect([...new URLSearchParams(text)]).toEqual(entries);
  });

  it('refuses a re-encoding over the connection limit (413)', () => {
    // Each byte that is not UTF-8 is U+FFFD, nine bytes escaped.
    const entries = urlencodedEntries(new Uint8Array(200).fill(0xff));
    let err: unknown;
    try {
      reencodeUrlencoded(entries, 1024);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('payload_too_large');
  });
});

describe('reencodeMultipart', () => {
  it('serializes the entries under a boundary of its own, read back the same', async () => {
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new File(['{"a":1}\n'], 'in.jsonl', { type: 'application/jsonl' }));
    form.append('purpose', 'second');
    const { bytes, contentType } = await reencodeMultipart(form, 1 << 20);
    expect(contentType).toMatch(/^multipart\/form-data; ?boundary=/);
    const back = await new Response(new Blob([bytes.slice()]), {
      headers: { 'Content-Type': contentType },
    }).formData();
    const read = await Promise.all(
      [...back.entries()].map(async ([name, value]) =>
        typeof value === 'string' ? [name, value] : [name, value.name, value.type, await value.text()],
      ),
    );
    expect(read).toEqual([
      ['purpose', 'batch'],
      ['file', 'in.jsonl', 'application/jsonl', '{"a":1}\n'],
      ['purpose', 'second'],
    ]);
  });

  it('refuses a re-encoding over the connection limit (413)', async () => {
    const form = new FormData();
    form.append('file', new File(['x'.repeat(2000)], 'a.txt'));
    await expect(reencodeMultipart(form, 1024)).rejects.toMatchObject({ code: 'payload_too_large' });
  });
});
