/**
 * The fake provider's Files and Batch APIs (llm.fake-provider.ts), as OpenAI's: one store per
 * provider, which sees every caller of a connection as one (the connection's key).
 *   POST /v1/files (multipart)              keeps the upload's text under a fresh `file-…` id
 *   GET /v1/files, /v1/files/{id}           list, retrieve
 *   GET /v1/files/{id}/content              the text, as `{ "content": … }`; a file whose text holds
 *                                           RAW_FILE, as OpenAI serves it: the bytes
 *                                           (application/octet-stream); one holding BINARY_FILE,
 *                                           bytes that are not UTF-8 (0xff 0xfe, then the text);
 *                                           one holding BIG_FILE, its bytes repeated past 5 MiB
 *   DELETE /v1/files/{id}                   delete
 *   POST /v1/batches {input_file_id}        a fresh `batch_…`; with a known input file it is done at
 *                                           once, its output file (`output of: <input>`) stored too
 *   GET /v1/batches, /v1/batches/{id}       list, retrieve
 *   POST /v1/batches/{id}/cancel            cancel
 * An unknown id is a provider-shaped 404.
 */
import { randomBytes } from 'node:crypto';
import { providerError } from './llm.fake-provider.replies.ts';
import { BIG_FILE, BINARY_FILE, RAW_FILE, reveal, SPLIT_BIG_BYTES } from './llm.fake-provider.split.ts';
import type { FakeAnswer } from './llm.fake-responses.ts';

type Json = Record<string, unknown>;

function list(data: Json[]): FakeAnswer {
  const first = (data[0]?.id as string | undefined) ?? null;
  const last = (data.at(-1)?.id as string | undefined) ?? null;
  return { status: 200, body: { object: 'list', data, first_id: first, last_id: last, has_more: false } };
}

function notFound(what: string, id: string): FakeAnswer {
  return { status: 404, body: providerError('openai', 404, `No such ${what}: ${id}`) };
}

export class FakeFiles {
  readonly #files = new Map<string, { file: Json; content: string }>();
  readonly #batches = new Map<string, Json>();

  /** The answer to a Files or Batch API request, or null for another path. */
  answer(method: string, path: string, json: Json, raw: string): FakeAnswer | null {
    const files = /^\/v1\/files(?:\/([^/]+)(\/content)?)?$/.exec(path);
    if (files) return this.#file(method, files[1], files[2] !== undefined, raw);
    const batches = /^\/v1\/batches(?:\/([^/]+)(\/cancel)?)?$/.exec(path);
    if (batches) return this.#batch(method, batches[1], batches[2] !== undefined, json);
    return null;
  }

  /** Keeps `content` as a new file (a completed upload's, a job's results): the file object. */
  put(content: string, purpose = 'batch'): Json {
    const file = this.#store(content);
    file.purpose = purpose;
    return file;
  }

  /** The text of a stored file, if any. */
  text(id: string): string | undefined {
    return this.#files.get(id)?.content;
  }

  #store(content: string): Json {
    const id = `file-${randomBytes(12).toString('hex')}`;
    const file = {
      id,
      object: 'file',
      bytes: content.length,
      created_at: 1_700_000_000,
      filename: 'upload.jsonl',
      purpose: 'batch',
      status: 'processed',
    };
    this.#files.set(id, { file, content });
    return file;
  }

  #file(method: string, id: string | undefined, content: boolean, raw: string): FakeAnswer | null {
    if (id === undefined) {
      if (method === 'POST') {
        // The multipart body's file part: what follows its headers, up to the next boundary.
        const text = /filename="[^"]*"\r\n(?:[^\r\n]+\r\n)*\r\n([\s\S]*?)\r\n--/.exec(raw)?.[1] ?? raw;
        return { status: 200, body: this.#store(text) };
      }
      return method === 'GET' ? list([...this.#files.values()].reverse().map((f) => f.file)) : null;
    }
    const stored = this.#files.get(decodeURIComponent(id));
    if (!stored) return notFound('File', id);
    if (content && method === 'GET') return fileContent(stored.content);
    if (content) return null;
    if (method === 'GET') return { status: 200, body: stored.file };
    if (method === 'DELETE') {
      this.#files.delete(decodeURIComponent(id));
      return { status: 200, body: { id, object: 'file', deleted: true } };
    }
    return null;
  }

  #batch(method: string, id: string | undefined, cancel: boolean, json: Json): FakeAnswer | null {
    if (id === undefined) {
      if (method === 'GET') return list([...this.#batches.values()].reverse());
      if (method !== 'POST') return null;
      const input = this.#files.get(String(json.input_file_id));
      const output = input ? this.#store(`output of: ${reveal(input.content)}`) : null;
      const batch: Json = {
        id: `batch_${randomBytes(12).toString('hex')}`,
        object: 'batch',
        endpoint: json.endpoint ?? '/v1/chat/completions',
        input_file_id: json.input_file_id ?? null,
        completion_window: json.completion_window ?? '24h',
        status: output ? 'completed' : 'validating',
        output_file_id: output?.id ?? null,
        error_file_id: null,
        created_at: 1_700_000_000,
      };
      this.#batches.set(batch.id as string, batch);
      return { status: 200, body: batch };
    }
    const batch = this.#batches.get(decodeURIComponent(id));
    if (!batch) return notFound('batch', id);
    if (cancel && method === 'POST') return { status: 200, body: { ...batch, status: 'cancelling' } };
    if (!cancel && method === 'GET') return { status: 200, body: batch };
    return null;
  }
}

function fileContent(content: string): FakeAnswer {
  const type = 'application/octet-stream';
  if (content.includes(BINARY_FILE))
    return { status: 200, text: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(content)]), type };
  if (content.includes(BIG_FILE))
    return {
      status: 200,
      text: `${content}\n`.repeat(Math.ceil(SPLIT_BIG_BYTES / (content.length + 1))),
      type,
    };
  if (content.includes(RAW_FILE)) return { status: 200, text: content, type };
  return { status: 200, body: { content } };
}
