/**
 * `new Igris({ apiKey, baseUrl })`: gateway configs for MCP clients (seed 001/002) and the
 * management API. Runs anywhere with fetch, URL and crypto.getRandomValues — Node ≥ 20,
 * Cloudflare Workers, Deno, browsers — and has no runtime dependencies.
 */
import type {
  StreamableHTTPClientTransport,
  StreamableHTTPClientTransportOptions,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  type ApiArgs,
  type ApiBody,
  type ApiQuery,
  type ApiResult,
  type HttpMethod,
  type PathsWith,
  readJson,
  send,
  type Transport,
} from './igris.api.js';
import {
  API_KEY_ENV,
  BASE_URL_ENV,
  checkApiKey,
  DEFAULT_BASE_URL,
  normalizeBaseUrl,
  readEnv,
} from './igris.config.js';
import { IgrisConfigError } from './igris.errors.js';
import type { Metadata } from './igris.identity.js';
import {
  ChatCompletionsApi,
  checkSlug,
  EmbeddingsApi,
  identityHeaders,
  type LlmConfig,
  type LlmConfigOptions,
  llmConfig,
} from './igris.llm.js';
import { loadStreamableHttpTransport, type McpConfig, mcpTransport } from './igris.transport.js';

export interface IgrisOptions {
  /** An Igris API key (`ig_…`). Default: the IGRIS_API_KEY environment variable. */
  apiKey?: string;
  /**
   * Your gateway's address, e.g. `https://igris.example.com`. Default: IGRIS_BASE_URL, then
   * DEFAULT_BASE_URL (`http://localhost:8787`, the gateway `npm start` runs).
   */
  baseUrl?: string;
  /** fetch for management API calls (e.g. a service binding's). Default: globalThis.fetch. */
  fetch?: typeof fetch;
}

/** Identity for the calls made with one config (seed 002). Every field is optional. */
export interface McpConfigOptions {
  /** End-user identity (X-Igris-User): advisory, for policies and the audit trail. */
  user?: string;
  /** Groups calls in the audit trail (X-Igris-Trace-Id). Default: a fresh `ig_trace_…` per config. */
  traceId?: string;
  /** Attributes for policy conditions such as `metadata.role` (X-Igris-Metadata). */
  metadata?: Metadata;
}

export class Igris {
  /** The gateway's base URL, normalised (no trailing slash). */
  readonly baseUrl: string;
  // Private so that logging the client (console.log(igris)) does not print the key.
  readonly #transport: Transport;

  readonly connections: ConnectionsApi;
  readonly policies: PoliciesApi;
  readonly sessions: SessionsApi;
  readonly audit: AuditApi;
  readonly llmProviders: LlmProvidersApi;
  /** `igris.chat.completions.create({ model: '@<slug>/<model>', messages })` (POST /v1/chat/completions). */
  readonly chat: { readonly completions: ChatCompletionsApi };
  /** `igris.embeddings.create({ model: '@<slug>/<model>', input })` (POST /v1/embeddings). */
  readonly embeddings: EmbeddingsApi;

  constructor(options: IgrisOptions = {}) {
    const apiKey = checkApiKey(options.apiKey ?? readEnv(API_KEY_ENV));
    this.baseUrl = normalizeBaseUrl(options.baseUrl ?? readEnv(BASE_URL_ENV) ?? DEFAULT_BASE_URL);
    const fetchImpl = options.fetch ?? globalThis.fetch;
    if (typeof fetchImpl !== 'function')
      throw new IgrisConfigError('fetch', 'no fetch available: pass new Igris({ fetch })');
    // Unbound window.fetch throws "Illegal invocation" in browsers.
    this.#transport = { baseUrl: this.baseUrl, apiKey, fetch: (input, init) => fetchImpl(input, init) };
    const request = this.request.bind(this) as Requester;
    this.connections = new ConnectionsApi(request);
    this.policies = new PoliciesApi(request);
    this.sessions = new SessionsApi(request);
    this.audit = new AuditApi(request, this.#transport);
    this.llmProviders = new LlmProvidersApi(request);
    this.chat = { completions: new ChatCompletionsApi(this.#transport) };
    this.embeddings = new EmbeddingsApi(this.#transport);
  }

  /**
   * The config an MCP client needs to reach connection `slug` through the gateway:
   * `{ baseUrl: '<base>/v1/mcp/<slug>', apiKey, headers }`. Identity is validated here with the
   * gateway's own limits (IgrisIdentityError / IgrisMetadataError), because the gateway would
   * silently ignore an invalid value. Each call without `traceId` gets a new trace id, shared by
   * every request made with that config.
   */
  getMcpConfig(slug: string, options: McpConfigOptions = {}): McpConfig {
    checkSlug(slug);
    const headers = identityHeaders(options);
    return { baseUrl: `${this.baseUrl}/v1/mcp/${slug}`, apiKey: this.#transport.apiKey, headers };
  }

  /**
   * What the official OpenAI SDK needs to call llm connection `slug` through the gateway:
   * `new OpenAI(igris.connectLlm('openai-prod'))` — baseURL `<gateway>/llm/<slug>/v1`, the Igris
   * key as apiKey, identity headers as defaultHeaders. For the Anthropic SDK pass
   * `{ sdk: 'anthropic' }` (baseURL without `/v1`: that SDK adds `/v1/messages`).
   */
  connectLlm(slug: string, options: LlmConfigOptions = {}): LlmConfig {
    return llmConfig(this.baseUrl, this.#transport.apiKey, slug, options);
  }

  /** Seed 001's name for the same config, for Streamable HTTP clients. Identical to getMcpConfig. */
  connectHttp(slug: string, options: McpConfigOptions = {}): McpConfig {
    return this.getMcpConfig(slug, options);
  }

  /**
   * A ready StreamableHTTPClientTransport (MCP SDK v1, loaded at run time) for `slug`:
   * `await client.connect(await igris.transport('github-prod', { user }))`. In bundled code
   * (Workers, browsers) prefer `mcpTransport(StreamableHTTPClientTransport, igris.connectHttp(…))`.
   */
  async transport(
    slug: string,
    options: McpConfigOptions = {},
    transportOptions?: StreamableHTTPClientTransportOptions,
  ): Promise<StreamableHTTPClientTransport> {
    const config = this.connectHttp(slug, options);
    const Transport = await loadStreamableHttpTransport();
    return mcpTransport(Transport, config, transportOptions);
  }

  /**
   * Any management API operation, typed from the OpenAPI document:
   * `igris.request('get', '/connections/{slug}', { path: { slug } })`.
   */
  async request<M extends HttpMethod, P extends PathsWith<M>>(
    method: M,
    path: P,
    // Optional exactly when every part is optional (no path parameters, no required body).
    ...args: Partial<ApiArgs<P, M>> extends ApiArgs<P, M> ? [args?: ApiArgs<P, M>] : [args: ApiArgs<P, M>]
  ): Promise<ApiResult<P, M>> {
    const res = await send(this.#transport, { method, path, args: args[0] as never });
    return (await readJson(res, method, path)) as ApiResult<P, M>;
  }
}

/** request(), loosened for endpoints the committed document may not have yet. */
type Requester = <P extends string, M extends HttpMethod>(
  method: M,
  path: P,
  args?: { path?: Record<string, string | number>; query?: unknown; body?: unknown },
) => Promise<ApiResult<P, M>>;

// ---------------------------------------------------------------------------------------------
// Resource helpers: thin, named wrappers over request(). Responses are the API's bodies as-is.
// ---------------------------------------------------------------------------------------------

export class ConnectionsApi {
  readonly #request: Requester;
  constructor(request: Requester) {
    this.#request = request;
  }
  list() {
    return this.#request('get', '/connections');
  }
  get(slug: string) {
    return this.#request('get', '/connections/{slug}', { path: { slug } });
  }
  create(connection: ApiBody<'/connections', 'post'>) {
    return this.#request('post', '/connections', { body: connection });
  }
  update(slug: string, changes: ApiBody<'/connections/{slug}', 'patch'>) {
    return this.#request('patch', '/connections/{slug}', { path: { slug }, body: changes });
  }
  delete(slug: string) {
    return this.#request('delete', '/connections/{slug}', { path: { slug } });
  }
  /** Replaces the stored upstream credential; takes effect on the next gateway call. */
  rotate(slug: string, credential: string) {
    const body: ApiBody<'/connections/{slug}/rotate', 'post'> = { credential };
    return this.#request('post', '/connections/{slug}/rotate', { path: { slug }, body });
  }
  disable(slug: string) {
    return this.#request('post', '/connections/{slug}/disable', { path: { slug } });
  }
  enable(slug: string) {
    return this.#request('post', '/connections/{slug}/enable', { path: { slug } });
  }
}

export class LlmProvidersApi {
  readonly #request: Requester;
  constructor(request: Requester) {
    this.#request = request;
  }
  /** The built-in provider catalog (ids for `settings.provider` of llm connections). */
  list() {
    return this.#request('get', '/llm/providers');
  }
}

export class PoliciesApi {
  readonly #request: Requester;
  constructor(request: Requester) {
    this.#request = request;
  }
  /** The current policy (version 0 with no rules when none was ever set). */
  get(slug: string) {
    return this.#request('get', '/connections/{slug}/policy', { path: { slug } });
  }
  /** Publishes `rules` as the next version. */
  put(slug: string, rules: ApiBody<'/connections/{slug}/policy', 'put'>['rules']) {
    const body: ApiBody<'/connections/{slug}/policy', 'put'> = { rules };
    return this.#request('put', '/connections/{slug}/policy', { path: { slug }, body });
  }
  versions(slug: string) {
    return this.#request('get', '/connections/{slug}/policy/versions', { path: { slug } });
  }
  /** Makes `version` current again, as a new version. */
  rollback(slug: string, version: number) {
    const body: ApiBody<'/connections/{slug}/policy/rollback', 'post'> = { version };
    return this.#request('post', '/connections/{slug}/policy/rollback', { path: { slug }, body });
  }
  /** Decides a hypothetical call against the current policy (or draft `rules`) without making it. */
  simulate(slug: string, call: ApiBody<'/connections/{slug}/policy/simulate', 'post'>) {
    return this.#request('post', '/connections/{slug}/policy/simulate', { path: { slug }, body: call });
  }
}

export class SessionsApi {
  readonly #request: Requester;
  constructor(request: Requester) {
    this.#request = request;
  }
  list(query?: ApiQuery<'/sessions', 'get'>) {
    return this.#request('get', '/sessions', { query });
  }
  get(id: string) {
    return this.#request('get', '/sessions/{id}', { path: { id } });
  }
  /** Kill switch for one agent session: its next call is answered 503 "Session Suspended". */
  suspend(id: string, body?: ApiBody<'/sessions/{id}/suspend', 'post'>) {
    return this.#request('post', '/sessions/{id}/suspend', { path: { id }, body });
  }
  resume(id: string) {
    return this.#request('post', '/sessions/{id}/resume', { path: { id } });
  }
}

export class AuditApi {
  readonly #request: Requester;
  readonly #transport: Transport;
  constructor(request: Requester, transport: Transport) {
    this.#request = request;
    this.#transport = transport;
  }
  list(query?: ApiQuery<'/audit-events', 'get'>) {
    return this.#request('get', '/audit-events', { query });
  }
  get(id: string) {
    return this.#request('get', '/audit-events/{id}', { path: { id } });
  }
  /** Every event of one trace — all calls made with one config / trace id — oldest first. */
  trace(traceId: string) {
    return this.#request('get', '/traces/{traceId}', { path: { traceId } });
  }
  /** The export as text (its format is whatever `query` asks the API for). */
  async export(query?: ApiQuery<'/audit-events/export', 'get'>): Promise<string> {
    const res = await send(this.#transport, {
      method: 'get',
      path: '/audit-events/export',
      args: { query: query as never },
      accept: '*/*',
    });
    return res.text();
  }
}
