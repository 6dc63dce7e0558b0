/**
 * The LLM side of the SDK: configs that point the official OpenAI or Anthropic SDK at an llm
 * connection (`igris.connectLlm(slug)`), and a small built-in client for the gateway's
 * Igris-style routes (`POST /v1/chat/completions`, `POST /v1/embeddings` with
 * `model: "@<slug>/<model>"`), streaming included. No dependency on either vendor SDK.
 */
import { IgrisConfigError, IgrisError } from './igris.errors.js';
import { checkTraceId, checkUser, encodeMetadata, type Metadata, newTraceId } from './igris.identity.js';
import { METADATA_HEADER, SLUG_PATTERN, TRACE_HEADER, USER_HEADER } from './igris.limits.js';

/** Identity sent with calls (X-Igris-User, X-Igris-Trace-Id, X-Igris-Metadata); all optional. */
export interface IdentityOptions {
  user?: string;
  /** Default: a fresh `ig_trace_…` per config (connectLlm) or per call (chat, embeddings). */
  traceId?: string;
  metadata?: Metadata;
}

/**
 * The identity headers, validated with the gateway's own limits (it would silently ignore an
 * invalid value, so the SDK refuses it instead).
 */
export function identityHeaders(options: IdentityOptions = {}): Record<string, string> {
  const headers: Record<string, string> = {
    [TRACE_HEADER]: options.traceId === undefined ? newTraceId() : checkTraceId(options.traceId),
  };
  if (options.user !== undefined) headers[USER_HEADER] = checkUser(options.user);
  if (options.metadata !== undefined) headers[METADATA_HEADER] = encodeMetadata(options.metadata);
  return headers;
}

export function checkSlug(slug: unknown): string {
  if (typeof slug !== 'string' || !SLUG_PATTERN.test(slug)) {
    throw new IgrisConfigError(
      'slug',
      `invalid connection slug ${JSON.stringify(slug)}: 3-64 of a-z 0-9 _ -, starting with a letter or digit`,
    );
  }
  return slug;
}

export interface LlmConfigOptions extends IdentityOptions {
  /**
   * Which SDK the config is for. `openai` (default): baseURL `<gateway>/llm/<slug>/v1`.
   * `anthropic`: baseURL `<gateway>/llm/<slug>` — the Anthropic SDK appends `/v1/messages` itself.
   */
  sdk?: 'openai' | 'anthropic';
}

/** Spread into `new OpenAI({...})` or `new Anthropic({...})`. */
export interface LlmConfig {
  baseURL: string;
  apiKey: string;
  defaultHeaders: Record<string, string>;
}

export function llmConfig(
  gateway: string,
  apiKey: string,
  slug: string,
  options: LlmConfigOptions = {},
): LlmConfig {
  const { sdk = 'openai', ...identity } = options;
  if (sdk !== 'openai' && sdk !== 'anthropic') {
    throw new IgrisConfigError('sdk', `sdk must be "openai" or "anthropic", not ${JSON.stringify(sdk)}`);
  }
  const base = `${gateway}/llm/${checkSlug(slug)}`;
  return {
    baseURL: sdk === 'anthropic' ? base : `${base}/v1`,
    apiKey,
    defaultHeaders: identityHeaders(identity),
  };
}

// ---------------------------------------------------------------------------------------------
// The built-in client for /v1/chat/completions and /v1/embeddings.
// ---------------------------------------------------------------------------------------------

/**
 * An answer of the gateway or the provider that is not a success: the OpenAI error shape
 * (`{ error: { message, type, code, param } }`) as the gateway and providers send it — 403 for a
 * policy deny, 429 (with `retryAfter`) for a limit, 503 for a kill switch, or the provider's own.
 */
export class IgrisLlmError extends IgrisError {
  override name = 'IgrisLlmError';
  /** HTTP status; 0 when no response arrived; the stream's status when the error came mid-stream. */
  readonly status: number;
  readonly type: string | null;
  readonly code: string | null;
  readonly param: string | null;
  /** Seconds from Retry-After, when the answer had one. */
  readonly retryAfter: number | null;
  constructor(init: {
    status: number;
    message: string;
    type?: string | null;
    code?: string | null;
    param?: string | null;
    retryAfter?: number | null;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.type = init.type ?? null;
    this.code = init.code ?? null;
    this.param = init.param ?? null;
    this.retryAfter = init.retryAfter ?? null;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** An IgrisLlmError from a parsed error body (OpenAI or Anthropic shape) or any text. */
export function llmErrorFrom(status: number, body: unknown, retryAfter: string | null = null): IgrisLlmError {
  const error = isRecord(body) && isRecord(body.error) ? body.error : null;
  const seconds = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : null;
  if (error) {
    return new IgrisLlmError({
      status,
      message: str(error.message) ?? `HTTP ${status}`,
      type: str(error.type),
      code: str(error.code),
      param: str(error.param),
      retryAfter: seconds,
    });
  }
  const text = typeof body === 'string' ? body.slice(0, 200) : '';
  return new IgrisLlmError({
    status,
    message: `HTTP ${status}${text ? ` ${text}` : ''}`,
    retryAfter: seconds,
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The parsed `data:` payloads of an OpenAI-style SSE stream, as they arrive, until `[DONE]` or the
 * end. An error event (`data: {"error":…}` or `event: error`) is thrown as IgrisLlmError; a stream
 * that ends without `[DONE]` just ends (the gateway records the outcome). Stopping the iteration
 * early cancels the response body.
 */
export async function* sseJson(body: ReadableStream<Uint8Array>, status = 200): AsyncGenerator<unknown> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value, { stream: !done });
      const events = buffer.split(/\r?\n\r?\n/);
      buffer = done ? '' : (events.pop() ?? '');
      for (const event of events) {
        let name = 'message';
        const data: string[] = [];
        for (const line of event.split(/\r?\n/)) {
          if (line.startsWith('event:')) name = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (data.length === 0) continue;
        const text = data.join('\n');
        if (text === '[DONE]') return;
        const parsed = parseJson(text);
        if (name === 'error' || (isRecord(parsed) && isRecord(parsed.error)))
          throw llmErrorFrom(status, parsed);
        yield parsed;
      }
      if (done) return;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** `@<slug>/<model>`: the Igris-style routes pick the connection from the model name. */
export function checkRoutedModel(model: unknown): string {
  const match = typeof model === 'string' ? /^@([^/]+)\/(.+)$/.exec(model) : null;
  if (!match || !SLUG_PATTERN.test(match[1]!)) {
    throw new IgrisConfigError(
      'model',
      `model must be "@<connection slug>/<model>" (e.g. "@openai-prod/gpt-4o"), not ${JSON.stringify(model)}`,
    );
  }
  return model as string;
}

export interface GatewayTransport {
  baseUrl: string;
  apiKey: string;
  fetch: typeof fetch;
}

export interface CallOptions extends IdentityOptions {
  signal?: AbortSignal;
}

/** POSTs one JSON body to a gateway route; resolves with the 2xx response, else throws IgrisLlmError. */
export async function postGateway(
  transport: GatewayTransport,
  path: string,
  body: Record<string, unknown>,
  options: CallOptions,
  stream: boolean,
): Promise<Response> {
  const { signal, ...identity } = options;
  let res: Response;
  try {
    res = await transport.fetch(`${transport.baseUrl}${path}`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${transport.apiKey}`,
        'Content-Type': 'application/json',
        Accept: stream ? 'text/event-stream' : 'application/json',
        ...identityHeaders(identity),
      },
      body: JSON.stringify(body),
      redirect: 'manual',
      signal,
    });
  } catch (cause) {
    throw new IgrisLlmError({
      status: 0,
      message: `POST ${path}: no response from the Igris gateway at ${transport.baseUrl}`,
      cause,
    });
  }
  if (res.status >= 200 && res.status < 300) return res;
  const text = await res.text().catch(() => '');
  throw llmErrorFrom(res.status, parseJson(text), res.headers.get('Retry-After'));
}

// Loose shapes: the gateway passes the provider's answer through, so only what the SDK reads is typed.
export interface ChatCompletionParams {
  /** `@<slug>/<model>` */
  model: string;
  messages: Array<Record<string, unknown>>;
  stream?: boolean | null;
  [field: string]: unknown;
}

export interface LlmUsageReport {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  [field: string]: unknown;
}

export interface ChatCompletion {
  id: string;
  object: string;
  model: string;
  choices: Array<{ index: number; message: Record<string, unknown>; finish_reason: string | null }>;
  usage?: LlmUsageReport;
  [field: string]: unknown;
}

export interface ChatCompletionChunk {
  id: string;
  object: string;
  model: string;
  choices: Array<{ index: number; delta: Record<string, unknown>; finish_reason: string | null }>;
  usage?: LlmUsageReport | null;
  [field: string]: unknown;
}

export interface EmbeddingParams {
  /** `@<slug>/<model>` */
  model: string;
  input: string | string[] | number[] | number[][];
  [field: string]: unknown;
}

export interface EmbeddingResponse {
  object: string;
  data: Array<{ index: number; embedding: number[] | string; object: string }>;
  model: string;
  usage?: LlmUsageReport;
  [field: string]: unknown;
}

export class ChatCompletionsApi {
  readonly #transport: GatewayTransport;
  constructor(transport: GatewayTransport) {
    this.#transport = transport;
  }
  /** `stream: true` resolves with an async iterable of parsed chunks, once the answer has started. */
  create(
    params: ChatCompletionParams & { stream: true },
    options?: CallOptions,
  ): Promise<AsyncIterable<ChatCompletionChunk>>;
  create(
    params: ChatCompletionParams & { stream?: false | null },
    options?: CallOptions,
  ): Promise<ChatCompletion>;
  create(
    params: ChatCompletionParams,
    options?: CallOptions,
  ): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
  async create(
    params: ChatCompletionParams,
    options: CallOptions = {},
  ): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    checkRoutedModel(params.model);
    const stream = params.stream === true;
    const res = await postGateway(this.#transport, '/v1/chat/completions', params, options, stream);
    if (stream) {
      if (!res.body)
        throw new IgrisLlmError({ status: res.status, message: 'streamed answer without a body' });
      return sseJson(res.body, res.status) as AsyncIterable<ChatCompletionChunk>;
    }
    return (await res.json()) as ChatCompletion;
  }
}

export class EmbeddingsApi {
  readonly #transport: GatewayTransport;
  constructor(transport: GatewayTransport) {
    this.#transport = transport;
  }
  async create(params: EmbeddingParams, options: CallOptions = {}): Promise<EmbeddingResponse> {
    checkRoutedModel(params.model);
    const res = await postGateway(this.#transport, '/v1/embeddings', params, options, false);
    return (await res.json()) as EmbeddingResponse;
  }
}
