/**
 * The fake provider's stored chat completions (llm.fake-provider.ts), as OpenAI's with `store: true`:
 *   POST /v1/chat/completions {store: true}        the completion gets a fresh id and is kept, with
 *                                                  the messages it was asked (JSON or stream)
 *   GET /v1/chat/completions                       lists every stored completion (newest first)
 *   GET /v1/chat/completions/{id}, …/messages      read one
 *   POST /v1/chat/completions/{id} {metadata}      updates its metadata
 *   DELETE /v1/chat/completions/{id}               deletes it
 * Read back (retrieve, messages), FAKE_SECRET_TOKEN stands for the secret (llm.fake-provider.split.ts).
 * An unknown id is a provider-shaped 404. One store per provider, which sees every caller of a
 * connection as one (the connection's key): only a gateway can keep callers' completions apart.
 */
import { randomBytes } from 'node:crypto';
import {
  echoText,
  type FakeUsage,
  openAiChatChunks,
  openAiChatJson,
  providerError,
} from './llm.fake-provider.replies.ts';
import { reveal } from './llm.fake-provider.split.ts';
import type { FakeAnswer } from './llm.fake-responses.ts';

type Json = Record<string, unknown>;

interface Stored {
  completion: Json;
  messages: unknown[];
}

export class FakeChatStore {
  readonly #stored = new Map<string, Stored>();

  /** The answer to a stored-completion request, or null for one this store does not serve. */
  answer(method: string, path: string, json: Json, model: string, usage: FakeUsage): FakeAnswer | null {
    if (method === 'POST' && path === '/v1/chat/completions') {
      return json.store === true ? this.#create(json, model, usage) : null;
    }
    if (method === 'GET' && path === '/v1/chat/completions') {
      const data = [...this.#stored.values()].reverse().map((s) => s.completion);
      const first = (data[0]?.id as string | undefined) ?? null;
      const last = (data.at(-1)?.id as string | undefined) ?? null;
      return { status: 200, body: { object: 'list', data, first_id: first, last_id: last, has_more: false } };
    }
    const match = /^\/v1\/chat\/completions\/([^/]+)(\/messages)?$/.exec(path);
    if (!match) return null;
    const id = decodeURIComponent(match[1]!);
    const stored = this.#stored.get(id);
    if (!stored)
      return { status: 404, body: providerError('openai', 404, `Chat completion '${id}' not found.`) };
    if (match[2] && method === 'GET') {
      const data = stored.messages.map((m, i) => ({ id: `${id}-${i}`, ...(m as Json) }));
      return { status: 200, body: revealed({ object: 'list', data, has_more: false }) };
    }
    if (match[2]) return null;
    if (method === 'GET') return { status: 200, body: revealed(stored.completion) };
    if (method === 'POST') {
      stored.completion = { ...stored.completion, metadata: json.metadata ?? null };
      return { status: 200, body: stored.completion };
    }
    if (method === 'DELETE') {
      this.#stored.delete(id);
      return { status: 200, body: { object: 'chat.completion.deleted', id, deleted: true } };
    }
    return null;
  }

  #create(json: Json, model: string, usage: FakeUsage): FakeAnswer {
    const id = `chatcmpl-${randomBytes(16).toString('hex')}`;
    // `fake-echo…`: the answer is the prompt, as for a completion not stored.
    const echo = echoText(json);
    const completion = { ...openAiChatJson(model, usage, null, echo), id, metadata: json.metadata ?? null };
    this.#stored.set(id, { completion, messages: Array.isArray(json.messages) ? json.messages : [] });
    if (json.stream !== true) return { status: 200, body: completion };
    const includeUsage = (json.stream_options as Json | undefined)?.include_usage === true;
    const chunks = openAiChatChunks(model, usage, null, includeUsage, echo).map((c) => ({ ...c, id }));
    return { sse: chunks.map((c) => [null, c] as [null, Json]), done: true };
  }
}

/** What is read back, the token standing for the secret replaced by it. */
function revealed(body: Json): Json {
  return JSON.parse(reveal(JSON.stringify(body))) as Json;
}
