/**
 * The fake provider's stored Responses API (llm.fake-provider.ts), as OpenAI's with `store: true`
 * (the default): every created response gets a fresh id and is kept with its conversation, so that
 *   POST /v1/responses {previous_response_id}   continues it: the reply repeats the conversation so
 *                                                far, as a model told "repeat everything above" would;
 *   GET /v1/responses/{id}, …/input_items        read it;
 *   DELETE /v1/responses/{id}, POST …/cancel     change it;
 *   POST /v1/responses/input_tokens              counts (and reads previous_response_id too).
 * Each response's output message item gets a fresh id too (`msg_…`), kept with its text: a create's
 * `input` item carrying such an id (an `item_reference`, or the item passed back) is read from the
 * store, and the reply repeats it ("Referenced: …"), as a model shown that item would.
 * An unknown id is a provider-shaped 404. One store per provider, which sees every caller of a
 * connection as one (the connection's key): only a gateway can keep callers' responses apart.
 */
import { randomBytes } from 'node:crypto';
import {
  FAKE_REPLY,
  type FakeUsage,
  providerError,
  responsesEvents,
  responsesJson,
} from './llm.fake-provider.replies.ts';

type Json = Record<string, unknown>;

export type FakeAnswer =
  | { status: number; body: Json }
  | { sse: Array<[string | null, Json]>; done?: boolean }
  /** A body that is not JSON (a Message Batch's results: JSONL). */
  | { status: number; text: string | Uint8Array; type: string };

interface Stored {
  response: Json;
  input: unknown;
  /** The conversation up to and including this response: inputs and replies, oldest first. */
  turns: string[];
}

function text(input: unknown): string {
  return typeof input === 'string' ? input : JSON.stringify(input ?? null);
}

export class FakeResponses {
  readonly #stored = new Map<string, Stored>();
  /** Output item id → its text. */
  readonly #items = new Map<string, string>();

  /** Ids created so far (tests compare what the gateway let through). */
  ids(): string[] {
    return [...this.#stored.keys()];
  }

  /** The answer to a `/v1/responses…` request, or null for another path. */
  answer(method: string, path: string, json: Json, model: string, usage: FakeUsage): FakeAnswer | null {
    const match = /^\/v1\/responses(?:\/([^/]+)(?:\/(input_items|cancel))?)?$/.exec(path);
    if (!match) return null;
    const [, id, sub] = match;
    if (id === undefined) return method === 'POST' ? this.#create(json, model, usage) : null;
    if (id === 'input_tokens' && method === 'POST') {
      const missing = this.#missingPrevious(json);
      return missing ?? { status: 200, body: { object: 'response.input_tokens', input_tokens: usage.input } };
    }
    const stored = this.#stored.get(decodeURIComponent(id));
    if (!stored) return notFound(`Response with id '${id}' not found.`);
    if (method === 'GET' && sub === undefined) return { status: 200, body: stored.response };
    if (method === 'GET' && sub === 'input_items') {
      const data = [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: text(stored.input) }] },
      ];
      return { status: 200, body: { object: 'list', data, has_more: false, first_id: null, last_id: null } };
    }
    if (method === 'DELETE' && sub === undefined) {
      this.#stored.delete(decodeURIComponent(id));
      return { status: 200, body: { id, object: 'response.deleted', deleted: true } };
    }
    if (method === 'POST' && sub === 'cancel')
      return { status: 200, body: { ...stored.response, status: 'cancelled' } };
    return null;
  }

  #missingPrevious(json: Json): FakeAnswer | null {
    const previous = json.previous_response_id;
    if (previous === undefined || previous === null) return null;
    return this.#stored.has(String(previous))
      ? null
      : notFound(`Previous response with id '${String(previous)}' not found.`);
  }

  #create(json: Json, model: string, usage: FakeUsage): FakeAnswer {
    const missing = this.#missingPrevious(json);
    if (missing) return missing;
    const referenced: string[] = [];
    for (const item of Array.isArray(json.input) ? (json.input as unknown[]) : []) {
      const itemId = (item as { id?: unknown } | null)?.id;
      if (typeof itemId !== 'string') continue;
      const stored = this.#items.get(itemId);
      if (stored === undefined) return notFound(`Item with id '${itemId}' not found.`);
      referenced.push(stored);
    }
    const before = json.previous_response_id
      ? this.#stored.get(String(json.previous_response_id))!.turns
      : [];
    const reply =
      before.length > 0
        ? `Conversation so far: ${before.join(' | ')}`
        : referenced.length > 0
          ? `Referenced: ${referenced.join(' | ')}`
          : FAKE_REPLY;
    const id = `resp_${randomBytes(24).toString('hex')}`;
    const itemId = `msg_${randomBytes(24).toString('hex')}`;
    // The provider keeps the items of what it answers (only when it stores the response).
    const fresh = <T>(value: T): T => JSON.parse(JSON.stringify(value).replaceAll('msg_fake_1', itemId)) as T;
    if (json.store !== false) {
      this.#items.set(itemId, reply);
      this.#stored.set(id, {
        response: fresh(responsesJson(model, usage, true, id, reply)),
        input: json.input,
        turns: [...before, text(json.input), reply],
      });
    }
    return json.stream === true
      ? { sse: fresh(responsesEvents(model, usage, id, reply)) }
      : { status: 200, body: fresh(responsesJson(model, usage, true, id, reply)) };
  }
}

function notFound(message: string): FakeAnswer {
  return { status: 404, body: providerError('openai', 404, message) };
}
