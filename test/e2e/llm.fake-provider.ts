/**
 * A real local LLM provider for tests and benchmarks (plain node:http): OpenAI chat completions
 * (JSON and SSE, usage only when `stream_options.include_usage`, tool calls), the Responses API
 * (JSON and SSE; stored responses, continued and read by id: llm.fake-responses.ts; stored chat
 * completions: llm.fake-chat-store.ts; files and batches: llm.fake-files.ts; Message Batches,
 * fine-tuning jobs, vector stores, uploads: llm.fake-stores.ts), embeddings (float or base64), models, and Anthropic Messages (JSON and SSE with
 * `message_start`/`message_delta` usage, tool use) plus count_tokens and Responses input_tokens — all under `/v1`, with
 * deterministic answers (llm.fake-provider.replies.ts).
 *
 * Failures, chosen per request by (first found): the `x-fake-fail` header, an armed
 * `POST /__fake/next`, or the model name `fake-fail-<kind>` (the one control that survives any
 * gateway, which forwards neither unknown headers nor anything but the body):
 *   429         provider-shaped rate limit with `Retry-After: 1`
 *   500         provider-shaped server error
 *   disconnect  headers and part of the answer, then the socket is destroyed (mid-stream for SSE)
 *   slow        the first byte waits `x-fake-delay-ms` (or the armed `delayMs`, default 1000 ms)
 *   stall       a stream sends its first event, then waits STALL_MS before the rest (a stream
 *               that is open long enough to be killed mid-way)
 *   stall-end   a stream sends all but its last event, then waits STALL_MS (OpenAI chat with
 *               `include_usage`: the whole answer, then the usage chunk late — a caller can hang
 *               up after the answer and before its usage)
 * Split: the model `fake-split…` answers with a secret cut across interleaved texts (choices, tool
 * calls, output items, thinking: llm.fake-provider.split.ts), for content inspection's tests.
 * Gaps: the models `fake-gap-…` stall after their headers, trickle, or stream odd shapes
 * (llm.fake-provider.gaps.ts; how each ended: `GET /__fake/gaps`).
 * Echo: the model `fake-echo` (or any `fake-echo…`) answers with the last user message, streamed
 * in 3-character deltas (so placeholders are split across events).
 * Usage override: `x-fake-usage: input=100,cached=10,output=50,reasoning=0` or the armed `usage`.
 *
 * Recording: every request (method, path, query, headers, body, which auth style carried the key,
 * and a form body as two parsers other than workerd's read it: llm.fake-forms.ts) is kept; tests in this process read `provider.requests`, other processes `GET /__fake/requests`
 * (`DELETE` clears). With `apiKey` set, a request without that key (as `Authorization: Bearer`,
 * `x-api-key`, `api-key` or `?key=`) gets a provider-shaped 401.
 *
 * Run alone: `node test/e2e/llm.fake-provider.ts` (PORT, FAKE_API_KEY) prints its URL.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { audioAnswer } from './llm.fake-audio.ts';
import { FakeChatStore } from './llm.fake-chat-store.ts';
import { FakeFiles } from './llm.fake-files.ts';
import { type FakeForms, readForms } from './llm.fake-forms.ts';
import { gapEndings, gapReply } from './llm.fake-provider.gaps.ts';
import {
  anthropicEvents,
  anthropicJson,
  echoText,
  embeddingsJson,
  FAKE_MODELS,
  FAKE_USAGE,
  type FakeUsage,
  modelsJson,
  openAiChatChunks,
  openAiChatJson,
  providerError,
  toolToCall,
} from './llm.fake-provider.replies.ts';
import {
  splitAnthropicEvents,
  splitAnthropicJson,
  splitChatChunks,
  splitChatJson,
  splitResponsesEvents,
  splitResponsesJson,
} from './llm.fake-provider.split.ts';
import { FakeResponses } from './llm.fake-responses.ts';
import { FakeStores } from './llm.fake-stores.ts';

export {
  FAKE_MODELS,
  FAKE_REPLY,
  FAKE_TOOL_ARGS,
  FAKE_USAGE,
  type FakeUsage,
} from './llm.fake-provider.replies.ts';

import { keepIdleConnections, listen } from '../shared/local.server.ts';

export type FakeFailure = '429' | '500' | 'disconnect' | 'slow' | 'stall' | 'stall-end';
export type FakeAuthStyle = 'bearer' | 'x-api-key' | 'api-key' | 'query' | null;

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Parsed JSON when the body is JSON, else the raw text (multipart, empty). */
  body: unknown;
  /** A form body (multipart or URL-encoded) as parsers other than the gateway's read it. */
  forms: FakeForms | null;
  auth: FakeAuthStyle;
}

export interface FakeArm {
  fail?: FakeFailure;
  usage?: Partial<FakeUsage>;
  delayMs?: number;
}

export interface FakeProvider {
  url: string;
  requests: FakeRequest[];
  last(): FakeRequest | undefined;
  reset(): void;
  /** Arms the next request (as POST /__fake/next does). */
  arm(next: FakeArm): void;
  close(): Promise<void>;
}

export interface FakeProviderOptions {
  port?: number;
  host?: string;
  apiKey?: string;
}

type Json = Record<string, unknown>;
type Family = 'openai' | 'anthropic';

const FAILURES = new Set<string>(['429', '500', 'disconnect', 'slow', 'stall', 'stall-end']);

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseUsage(spec: string | undefined, armed: Partial<FakeUsage> | undefined): FakeUsage {
  const usage = { ...FAKE_USAGE, ...armed };
  for (const part of (spec ?? '').split(',')) {
    const [key, value] = part.split('=').map((s) => s.trim());
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) continue;
    if (key === 'input') usage.input = n;
    else if (key === 'cached') usage.cachedInput = n;
    else if (key === 'output') usage.output = n;
    else if (key === 'reasoning') usage.reasoning = n;
  }
  return usage;
}

function authStyle(req: IncomingMessage, query: URLSearchParams, key: string | undefined): FakeAuthStyle {
  if (key === undefined) return null;
  if (req.headers.authorization === `Bearer ${key}`) return 'bearer';
  if (req.headers['x-api-key'] === key) return 'x-api-key';
  if (req.headers['api-key'] === key) return 'api-key';
  if (query.get('key') === key) return 'query';
  return null;
}

/** How long a `stall` stream pauses after its first event. */
export const STALL_MS = 8_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

class Reply {
  // Plain fields, not parameter properties: Node runs this file with type stripping only.
  private readonly res: ServerResponse;
  private readonly failure: FakeFailure | null;

  constructor(res: ServerResponse, failure: FakeFailure | null) {
    this.res = res;
    this.failure = failure;
  }

  json(status: number, body: Json, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    this.res.writeHead(status, {
      'content-type': 'application/json',
      'x-request-id': 'req_fake',
      ...headers,
    });
    if (this.failure === 'disconnect') {
      this.res.write(text.slice(0, Math.floor(text.length / 2)));
      this.res.socket?.destroy();
      return;
    }
    this.res.end(text);
  }

  text(status: number, text: string | Uint8Array, type: string): void {
    this.res.writeHead(status, { 'content-type': type, 'x-request-id': 'req_fake' });
    this.res.end(text);
  }

  /** Streams SSE events ([event name or null, data]); `done` appends OpenAI's `data: [DONE]`. */
  async sse(events: Array<[string | null, Json]>, done: boolean): Promise<void> {
    this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const cut = this.failure === 'disconnect' ? Math.max(1, Math.floor(events.length / 2)) : events.length;
    for (const [i, [name, data]] of events.entries()) {
      if (i === cut) {
        this.res.socket?.destroy();
        return;
      }
      if (i === 1 && this.failure === 'stall') await sleep(STALL_MS);
      if (i > 0 && i === events.length - 1 && this.failure === 'stall-end') await sleep(STALL_MS);
      if (this.res.destroyed) return;
      this.res.write(`${name ? `event: ${name}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
      await sleep(1); // separate network writes, so a reader sees chunks as they come
    }
    this.res.end(done ? 'data: [DONE]\n\n' : undefined);
  }
}

const CANCELLED: Record<string, Json> = {
  responses: { object: 'response', status: 'cancelled', output: [] },
};

/**
 * A model retrieval (`GET /v1/models/<id>`: the model, or 404 for one the fake does not serve) and
 * the Responses cancel (the other cancels are llm.fake-files.ts' and llm.fake-stores.ts'), in the
 * providers' shapes; null for any other route.
 */
function passthroughReply(route: string, family: Family): [number, Json] | null {
  const retrieve = /^GET \/v1\/models\/([^/]+)$/.exec(route);
  if (retrieve) {
    const id = decodeURIComponent(retrieve[1]!);
    if (!FAKE_MODELS.includes(id)) return [404, providerError(family, 404, `The model ${id} does not exist`)];
    const data = modelsJson(family).data as Json[];
    return [200, data.find((m) => m.id === id)!];
  }
  const cancel = /^POST \/v1\/(responses)\/([^/]+)\/cancel$/.exec(route);
  return cancel ? [200, { id: cancel[2]!, ...CANCELLED[cancel[1]!] }] : null;
}

export async function startFakeProvider(options: FakeProviderOptions = {}): Promise<FakeProvider> {
  const requests: FakeRequest[] = [];
  let armed: FakeArm | null = null;
  const responses = new FakeResponses();
  const chats = new FakeChatStore();
  const files = new FakeFiles();
  const stores = new FakeStores(files);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const bytes = await readBody(req);
    const raw = bytes.toString('utf8');
    if (url.pathname.startsWith('/__fake/')) return control(req.method ?? 'GET', url.pathname, raw, res);

    let body: unknown = raw;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {}
    const auth = authStyle(req, url.searchParams, options.apiKey);
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
    );
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body,
      forms: await readForms(bytes, headers['content-type'] ?? ''),
      auth,
    });

    const json = (typeof body === 'object' && body !== null ? body : {}) as Json;
    const arm = armed;
    armed = null;
    const model = typeof json.model === 'string' ? json.model : 'fake-gpt';
    const fromModel = /^fake-fail-(.+)$/.exec(model)?.[1];
    const requested = headers['x-fake-fail'] || arm?.fail || fromModel || '';
    const failure = FAILURES.has(requested) ? (requested as FakeFailure) : null;
    const family: Family =
      url.pathname.startsWith('/v1/messages') || 'anthropic-version' in headers ? 'anthropic' : 'openai';
    const reply = new Reply(res, failure);

    if (failure === 'slow') await sleep(Number(headers['x-fake-delay-ms']) || arm?.delayMs || 1000);
    if (options.apiKey !== undefined && auth === null) {
      return reply.json(401, providerError(family, 401, 'Invalid API key (fake provider)'));
    }
    if (failure === '429') {
      return reply.json(429, providerError(family, 429, 'Rate limit reached (fake provider)'), {
        'retry-after': '1',
      });
    }
    if (failure === '500')
      return reply.json(500, providerError(family, 500, 'Internal error (fake provider)'));

    const usage = parseUsage(headers['x-fake-usage'], arm?.usage);
    // Another spelling of the chat path (a trailing slash), answered as the path itself.
    const pathname = url.pathname === '/v1/chat/completions/' ? '/v1/chat/completions' : url.pathname;
    const route = `${req.method} ${pathname}`;
    const stream = json.stream === true;
    // Model `fake-echo…`: the answer is the last user message as the provider received it.
    const echo = echoText(json);
    // Model `fake-split…`: a secret cut across interleaved texts (llm.fake-provider.split.ts).
    if (model.startsWith('fake-split')) {
      if (route === 'POST /v1/chat/completions')
        return stream
          ? reply.sse(
              splitChatChunks(model).map((c) => [null, c]),
              true,
            )
          : reply.json(200, splitChatJson(model));
      if (route === 'POST /v1/responses')
        return stream
          ? reply.sse(splitResponsesEvents(model), false)
          : reply.json(200, splitResponsesJson(model));
      if (route === 'POST /v1/messages')
        return stream
          ? reply.sse(splitAnthropicEvents(model), false)
          : reply.json(200, splitAnthropicJson(model));
    }
    // Model `fake-gap-…`: streams that stall, trickle or take odd shapes (llm.fake-provider.gaps.ts).
    if (model.startsWith('fake-gap-')) return gapReply(model, json, req, res);
    // The Responses API, with stored responses (llm.fake-responses.ts), stored chat completions
    // (llm.fake-chat-store.ts), files and batches (llm.fake-files.ts), Message Batches, fine-tuning
    // jobs, vector stores and uploads (llm.fake-stores.ts), transcriptions (llm.fake-audio.ts).
    const stored =
      responses.answer(req.method ?? 'GET', url.pathname, json, model, usage) ??
      chats.answer(req.method ?? 'GET', url.pathname, json, model, usage) ??
      files.answer(req.method ?? 'GET', url.pathname, json, raw) ??
      stores.answer(req.method ?? 'GET', url.pathname, json, raw) ??
      audioAnswer(req.method ?? 'GET', url.pathname, raw);
    if (stored) {
      if ('sse' in stored) return reply.sse(stored.sse, stored.done ?? false);
      if ('text' in stored) return reply.text(stored.status, stored.text, stored.type);
      return reply.json(stored.status, stored.body);
    }
    switch (route) {
      case 'POST /v1/chat/completions': {
        const tool = toolToCall(json, 'openai');
        if (!stream) return reply.json(200, openAiChatJson(model, usage, tool, echo));
        const includeUsage = (json.stream_options as Json | undefined)?.include_usage === true;
        return reply.sse(
          openAiChatChunks(model, usage, tool, includeUsage, echo).map((c) => [null, c]),
          true,
        );
      }
      case 'POST /v1/embeddings':
        return reply.json(200, embeddingsJson(json, usage));
      case 'GET /v1/models':
        return reply.json(200, modelsJson(family));
      case 'POST /v1/messages': {
        const tool = toolToCall(json, 'anthropic');
        return stream
          ? reply.sse(anthropicEvents(model, usage, tool, echo), false)
          : reply.json(200, anthropicJson(model, usage, tool, echo));
      }
      case 'POST /v1/messages/count_tokens':
        return reply.json(200, { input_tokens: usage.input });
      case 'POST /v1/responses/input_tokens':
        return reply.json(200, { object: 'response.input_tokens', input_tokens: usage.input });
      default: {
        const other = passthroughReply(route, family);
        if (other) return reply.json(other[0], other[1]);
        return reply.json(404, providerError(family, 404, `No route ${route} (fake provider)`));
      }
    }
  }

  function control(method: string, path: string, raw: string, res: ServerResponse): void {
    let status = 200;
    let body: unknown = { ok: true };
    if (path === '/__fake/requests' && method === 'GET') body = requests;
    else if (path === '/__fake/requests' && method === 'DELETE') requests.length = 0;
    else if (path === '/__fake/gaps' && method === 'GET') body = gapEndings();
    else if (path === '/__fake/next' && method === 'POST') armed = JSON.parse(raw || '{}') as FakeArm;
    else [status, body] = [404, { error: 'unknown control route' }];
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  const listening = await listen(keepIdleConnections(server), { host: options.host, port: options.port });
  return {
    url: listening.url,
    requests,
    last: () => requests.at(-1),
    reset: () => {
      requests.length = 0;
      armed = null;
    },
    arm: (next) => {
      armed = next;
    },
    close: listening.close,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const provider = await startFakeProvider({
    port: Number(process.env.PORT) || 0,
    apiKey: process.env.FAKE_API_KEY,
  });
  console.log(`fake LLM provider on ${provider.url}/v1`);
}
