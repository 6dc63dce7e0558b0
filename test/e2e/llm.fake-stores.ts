/**
 * The fake provider's Anthropic Message Batches, OpenAI fine-tuning jobs, vector stores and uploads
 * (llm.fake-provider.ts), as the providers': one store per provider, which sees every caller of a
 * connection as one (the connection's key) and serves any id to anyone who names it — so only the
 * gateway keeps callers apart. What each keeps reads back the secrets it was given:
 *   /v1/messages/batches                       create (each request answered at once: "answer to:
 *                                              <its last user text>"), list, retrieve, `/results`
 *                                              (JSONL; `results_url` names Anthropic's), `/cancel`, DELETE
 *   /v1/fine_tuning/jobs                       create (done at once; its result file, `results of:
 *                                              <training file's text>`, stored as a file), list,
 *                                              retrieve, `/cancel`, `/pause`, `/resume`, `/events`
 *                                              (naming the training file's text), `/checkpoints`
 *   /v1/vector_stores                          create (`file_ids`), list, retrieve, update, DELETE,
 *                                              `/search` (the text of its files), `/files` (attach
 *                                              `file_id`, list, retrieve, DELETE), `/file_batches`
 *                                              (create `file_ids`, retrieve, `/cancel`, `/files`)
 *   /v1/uploads                                create, `/parts` (multipart `data`), `/complete`
 *                                              (the parts become a file), `/cancel`
 * An unknown id is a provider-shaped 404.
 */
import { randomBytes } from 'node:crypto';
import type { FakeFiles } from './llm.fake-files.ts';
import { providerError } from './llm.fake-provider.replies.ts';
import { reveal } from './llm.fake-provider.split.ts';
import type { FakeAnswer } from './llm.fake-responses.ts';

type Json = Record<string, unknown>;

const fresh = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;
const ok = (body: Json): FakeAnswer => ({ status: 200, body });

function list(data: Json[], anthropic = false): FakeAnswer {
  const first = (data[0]?.id as string | undefined) ?? null;
  const last = (data.at(-1)?.id as string | undefined) ?? null;
  const page = { data, first_id: first, last_id: last, has_more: false };
  return ok(anthropic ? page : { object: 'list', ...page });
}

function notFound(family: 'openai' | 'anthropic', what: string, id: string): FakeAnswer {
  return { status: 404, body: providerError(family, 404, `No such ${what}: ${id}`) };
}

/** The last user text of a Messages request's `messages`. */
function lastUserText(messages: unknown): string {
  const last = Array.isArray(messages) ? messages.filter((m) => (m as Json)?.role === 'user').at(-1) : null;
  const content = (last as Json | null)?.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => ((part as Json)?.type === 'text' ? String((part as Json).text) : '')).join('');
}

export class FakeStores {
  readonly #files: FakeFiles;
  readonly #messageBatches = new Map<string, { batch: Json; results: Json[] }>();
  readonly #jobs = new Map<string, Json>();
  readonly #stores = new Map<string, { store: Json; files: Set<string>; batches: Map<string, Json> }>();
  readonly #uploads = new Map<string, { upload: Json; parts: Map<string, string> }>();

  constructor(files: FakeFiles) {
    this.#files = files;
  }

  /** The answer to a request for one of these stores, or null for another path. */
  answer(method: string, path: string, json: Json, raw: string): FakeAnswer | null {
    const parts = path.split('/').slice(2).map(decodeURIComponent);
    if (parts[0] === 'messages' && parts[1] === 'batches')
      return this.#messageBatch(method, parts.slice(2), json);
    if (parts[0] === 'fine_tuning' && parts[1] === 'jobs') return this.#job(method, parts.slice(2), json);
    if (parts[0] === 'vector_stores') return this.#vectorStore(method, parts.slice(1), json);
    if (parts[0] === 'uploads') return this.#upload(method, parts.slice(1), json, raw);
    return null;
  }

  #messageBatch(method: string, rest: string[], json: Json): FakeAnswer | null {
    const [id, sub] = rest;
    if (id === undefined) {
      if (method === 'GET')
        return list(
          [...this.#messageBatches.values()].reverse().map((b) => b.batch),
          true,
        );
      if (method !== 'POST') return null;
      const requests = Array.isArray(json.requests) ? (json.requests as Json[]) : [];
      const batch: Json = {
        id: fresh('msgbatch_'),
        type: 'message_batch',
        processing_status: 'ended',
        request_counts: { processing: 0, succeeded: requests.length, errored: 0, canceled: 0, expired: 0 },
        created_at: '2026-01-01T00:00:00Z',
        ended_at: '2026-01-01T00:00:01Z',
        expires_at: '2026-01-02T00:00:00Z',
        cancel_initiated_at: null,
        archived_at: null,
        results_url: null as string | null,
      };
      // Where Anthropic serves an ended batch's results: its own API, not the gateway.
      batch.results_url = `https://api.anthropic.com/v1/messages/batches/${batch.id}/results`;
      const results = requests.map((r) => ({
        custom_id: r?.custom_id ?? null,
        result: {
          type: 'succeeded',
          message: {
            id: fresh('msg_'),
            type: 'message',
            role: 'assistant',
            content: [
              { type: 'text', text: `answer to: ${reveal(lastUserText((r?.params as Json)?.messages))}` },
            ],
          },
        },
      }));
      this.#messageBatches.set(batch.id as string, { batch, results });
      return ok(batch);
    }
    const stored = this.#messageBatches.get(id);
    if (!stored) return notFound('anthropic', 'message batch', id);
    if (sub === undefined && method === 'GET') return ok(stored.batch);
    if (sub === undefined && method === 'DELETE') {
      this.#messageBatches.delete(id);
      return ok({ id, type: 'message_batch_deleted' });
    }
    // JSONL, as Anthropic serves it (the SDK's results() reads it line by line).
    if (sub === 'results' && method === 'GET')
      return {
        status: 200,
        text: `${stored.results.map((r) => JSON.stringify(r)).join('\n')}\n`,
        type: 'application/binary',
      };
    if (sub === 'cancel' && method === 'POST') return ok({ ...stored.batch, processing_status: 'canceling' });
    return null;
  }

  #job(method: string, rest: string[], json: Json): FakeAnswer | null {
    const [id, sub] = rest;
    if (id === undefined) {
      if (method === 'GET') return list([...this.#jobs.values()].reverse());
      if (method !== 'POST') return null;
      const training = this.#files.text(String(json.training_file));
      const result =
        training === undefined ? null : this.#files.put(`results of: ${training}`, 'fine-tune-results');
      const job: Json = {
        id: fresh('ftjob-'),
        object: 'fine_tuning.job',
        model: json.model ?? 'fake-gpt',
        training_file: json.training_file ?? null,
        validation_file: json.validation_file ?? null,
        status: result ? 'succeeded' : 'validating_files',
        result_files: result ? [result.id] : [],
        fine_tuned_model: result ? `ft:${String(json.model ?? 'fake-gpt')}:fake::${fresh('')}` : null,
        created_at: 1_700_000_000,
        finished_at: result ? 1_700_000_100 : null,
        organization_id: 'org-fake',
        hyperparameters: {},
        seed: 1,
        trained_tokens: null,
        error: null,
        estimated_finish: null,
        integrations: null,
        method: { type: 'supervised' },
      };
      this.#jobs.set(job.id as string, job);
      return ok(job);
    }
    const job = this.#jobs.get(id);
    if (!job) return notFound('openai', 'fine-tuning job', id);
    if (sub === undefined && method === 'GET') return ok(job);
    const status = { cancel: 'cancelled', pause: 'paused', resume: 'running' }[sub ?? ''];
    if (status && method === 'POST') return ok({ ...job, status });
    if (sub === 'events' && method === 'GET') {
      const text = this.#files.text(String(job.training_file)) ?? '';
      return list([
        {
          object: 'fine_tuning.job.event',
          id: fresh('ftevent-'),
          level: 'info',
          message: `Trained on: ${text}`,
          created_at: 1,
        },
      ]);
    }
    if (sub === 'checkpoints' && method === 'GET')
      return list([{ object: 'fine_tuning.job.checkpoint', id: fresh('ftckpt_'), fine_tuning_job_id: id }]);
    return null;
  }

  #vectorStore(method: string, rest: string[], json: Json): FakeAnswer | null {
    const [id, sub, subId, subSub] = rest;
    if (id === undefined) {
      if (method === 'GET') return list([...this.#stores.values()].reverse().map((s) => s.store));
      if (method !== 'POST') return null;
      const files = new Set(Array.isArray(json.file_ids) ? json.file_ids.map(String) : []);
      const store: Json = {
        id: fresh('vs_'),
        object: 'vector_store',
        name: json.name ?? null,
        status: 'completed',
        usage_bytes: 0,
        file_counts: { in_progress: 0, completed: files.size, failed: 0, cancelled: 0, total: files.size },
        created_at: 1_700_000_000,
        last_active_at: null,
        metadata: null,
      };
      this.#stores.set(store.id as string, { store, files, batches: new Map() });
      return ok(store);
    }
    const stored = this.#stores.get(id);
    if (!stored) return notFound('openai', 'vector store', id);
    const fileOf = (fileId: string) => ({
      id: fileId,
      object: 'vector_store.file',
      vector_store_id: id,
      status: 'completed',
    });
    if (sub === undefined) {
      if (method === 'GET') return ok(stored.store);
      if (method === 'POST') return ok(Object.assign(stored.store, { name: json.name ?? stored.store.name }));
      if (method === 'DELETE') {
        this.#stores.delete(id);
        return ok({ id, object: 'vector_store.deleted', deleted: true });
      }
      return null;
    }
    if (sub === 'search' && method === 'POST') {
      const data = [...stored.files].map((fileId) => ({
        file_id: fileId,
        filename: 'upload.jsonl',
        score: 1,
        attributes: {},
        content: [{ type: 'text', text: this.#files.text(fileId) ?? '' }],
      }));
      return ok({
        object: 'vector_store.search_results.page',
        search_query: [json.query],
        data,
        has_more: false,
        next_page: null,
      });
    }
    if (sub === 'files') {
      if (subId === undefined && method === 'POST') {
        stored.files.add(String(json.file_id));
        return ok(fileOf(String(json.file_id)));
      }
      if (subId === undefined && method === 'GET') return list([...stored.files].map(fileOf));
      if (subId === undefined || !stored.files.has(subId))
        return notFound('openai', 'vector store file', subId ?? '');
      if (method === 'GET' && subSub === 'content')
        return ok({
          object: 'vector_store.file_content.page',
          data: [{ type: 'text', text: this.#files.text(subId) ?? '' }],
        });
      if (method === 'GET') return ok(fileOf(subId));
      if (method === 'DELETE') {
        stored.files.delete(subId);
        return ok({ id: subId, object: 'vector_store.file.deleted', deleted: true });
      }
      return null;
    }
    if (sub === 'file_batches') {
      if (subId === undefined && method === 'POST') {
        const ids = Array.isArray(json.file_ids) ? json.file_ids.map(String) : [];
        for (const fileId of ids) stored.files.add(fileId);
        const batch: Json = {
          id: fresh('vsfb_'),
          object: 'vector_store.files_batch',
          vector_store_id: id,
          status: 'completed',
        };
        stored.batches.set(batch.id as string, batch);
        return ok(batch);
      }
      const batch = subId === undefined ? undefined : stored.batches.get(subId);
      if (!batch) return notFound('openai', 'file batch', subId ?? '');
      if (subSub === undefined && method === 'GET') return ok(batch);
      if (subSub === 'cancel' && method === 'POST') return ok({ ...batch, status: 'cancelled' });
      if (subSub === 'files' && method === 'GET') return list([...stored.files].map(fileOf));
    }
    return null;
  }

  #upload(method: string, rest: string[], json: Json, raw: string): FakeAnswer | null {
    const [id, sub] = rest;
    if (method !== 'POST') return null;
    if (id === undefined) {
      const upload: Json = {
        id: fresh('upload_'),
        object: 'upload',
        bytes: json.bytes ?? 0,
        filename: json.filename ?? 'upload.txt',
        purpose: json.purpose ?? 'assistants',
        status: 'pending',
        created_at: 1_700_000_000,
        expires_at: 1_700_003_600,
        file: null,
      };
      this.#uploads.set(upload.id as string, { upload, parts: new Map() });
      return ok(upload);
    }
    const stored = this.#uploads.get(id);
    if (!stored) return notFound('openai', 'upload', id);
    if (sub === 'parts') {
      // The multipart body's one part: what follows its headers, up to the next boundary.
      const text = /\r\n\r\n([\s\S]*?)\r\n--/.exec(raw)?.[1] ?? raw;
      const part = { id: fresh('part_'), object: 'upload.part', upload_id: id, created_at: 1_700_000_000 };
      stored.parts.set(part.id, text);
      return ok(part);
    }
    if (sub === 'complete') {
      const order = Array.isArray(json.part_ids) ? json.part_ids.map(String) : [...stored.parts.keys()];
      const file = this.#files.put(
        order.map((p) => stored.parts.get(p) ?? '').join(''),
        String(stored.upload.purpose),
      );
      Object.assign(stored.upload, { status: 'completed', file });
      return ok(stored.upload);
    }
    if (sub === 'cancel') return ok(Object.assign(stored.upload, { status: 'cancelled' }));
    return null;
  }
}
