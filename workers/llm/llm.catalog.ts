/**
 * The built-in LLM provider catalog: data (llm.providers.json), validated by the schema below when
 * the module loads, so a bad edit fails every test at once instead of one provider at run time.
 *
 * `baseUrl` is what replaces the gateway's `/llm/<slug>/v1` prefix: the upstream URL of an
 * endpoint is `baseUrl + upstreamPath` (llm.endpoints.ts). That is why OpenAI's is `…/v1` and
 * Perplexity's has no `/v1` (it serves `/chat/completions` at its root). Providers whose base URL
 * depends on the customer (Azure resource, Ollama host, any OpenAI-compatible server) have
 * `baseUrl: null` and `upstreamUrl: "required"`: the connection's `upstreamUrl` is their base URL,
 * checked by the same SSRF rules as MCP upstreams.
 *
 * How to add or change a provider: docs/llm-gateway.md.
 */
import { z } from 'zod';
import { ENDPOINT_SPECS, LLM_ENDPOINTS, type LlmEndpoint, type LlmFamily } from './llm.endpoints';
import catalogData from './llm.providers.json';

const AUTH_STYLES = ['bearer', 'x-api-key', 'api-key', 'query', 'none'] as const;

const authSchema = z.discriminatedUnion('style', [
  z.object({ style: z.literal('bearer') }),
  z.object({ style: z.literal('x-api-key') }),
  z.object({ style: z.literal('api-key') }),
  z.object({ style: z.literal('query'), param: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/) }),
  z.object({ style: z.literal('none') }),
]);

const headerName = z.string().regex(/^[a-z0-9-]{1,64}$/, 'header names are lowercase');

const httpsBase = z
  .url()
  .refine((url) => url.startsWith('https://'), 'built-in base URLs are https')
  .refine((url) => !url.endsWith('/'), 'no trailing slash: endpoint paths start with "/"');

export const providerSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{1,39}$/),
    name: z.string().min(1).max(80),
    family: z.enum(['openai', 'anthropic']),
    baseUrl: httpsBase.nullable(),
    /** Shown to people creating a connection when `baseUrl` is null. */
    exampleBaseUrl: z.string().optional(),
    upstreamUrl: z.enum(['optional', 'required']),
    auth: authSchema,
    /** Sent upstream when the caller did not send the header itself (e.g. `anthropic-version`). */
    headers: z.record(headerName, z.string().min(1).max(256)),
    /** Caller headers this provider understands and the gateway may forward (beyond the common set). */
    forwardHeaders: z.array(headerName),
    endpoints: z.array(z.enum(LLM_ENDPOINTS)).min(1),
    /**
     * How usage reaches us on a streamed OpenAI-family answer:
     *   include_usage  only when asked with `stream_options.include_usage` (the gateway adds it);
     *   always         the provider sends it unasked (Anthropic, Mistral, Perplexity);
     *   none           the provider rejects `stream_options`: never added, usage may be unknown.
     */
    streamUsage: z.enum(['include_usage', 'always', 'none']),
    /** The field the gateway adds to cap output tokens when the caller set none. */
    maxTokensField: z.enum(['max_tokens', 'max_completion_tokens']),
    docs: z.url(),
  })
  .refine((p) => (p.baseUrl === null) === (p.upstreamUrl === 'required'), {
    message: 'a provider without a baseUrl must require the connection upstreamUrl (and only then)',
    path: ['upstreamUrl'],
  })
  // `models` is served by both families (same path, same list shape); every other endpoint belongs
  // to one family, and a provider speaks one.
  .refine((p) => p.endpoints.every((e) => e === 'models' || ENDPOINT_SPECS[e].family === p.family), {
    message: "every endpoint but models must be of the provider's family",
    path: ['endpoints'],
  });

export const catalogSchema = z
  .object({
    version: z.number().int().positive(),
    updated: z.iso.date(),
    providers: z.array(providerSchema).min(1),
  })
  .refine((c) => new Set(c.providers.map((p) => p.id)).size === c.providers.length, {
    message: 'provider ids are unique',
    path: ['providers'],
  });

export type LlmProvider = z.infer<typeof providerSchema>;
export type ProviderAuth = z.infer<typeof authSchema>;
export type AuthStyle = (typeof AUTH_STYLES)[number];
export type LlmCatalog = z.infer<typeof catalogSchema>;

/** The catalog, validated once at module load (throws on a malformed llm.providers.json). */
export const LLM_CATALOG: LlmCatalog = catalogSchema.parse(catalogData);

const BY_ID = new Map(LLM_CATALOG.providers.map((p) => [p.id, p]));

export const PROVIDER_IDS: readonly string[] = LLM_CATALOG.providers.map((p) => p.id);

export function getProvider(id: string): LlmProvider | null {
  return BY_ID.get(id) ?? null;
}

/** True when the provider serves this endpoint; `passthrough` is judged by policy, not here. */
export function servesEndpoint(provider: LlmProvider, endpoint: LlmEndpoint): boolean {
  return provider.endpoints.includes(endpoint);
}

export function providerFamily(provider: LlmProvider): LlmFamily {
  return provider.family;
}

/**
 * The base URL to forward to: the connection's `upstreamUrl` when set (custom deployments, proxies,
 * self-hosted servers), else the catalog's. Null when the provider needs one and none was given.
 * A trailing slash of a stored URL is dropped so `base + "/chat/completions"` has one slash.
 */
export function effectiveBaseUrl(provider: LlmProvider, upstreamUrl: string | null): string | null {
  const base = upstreamUrl ?? provider.baseUrl;
  if (base === null) return null;
  return base.replace(/\/+$/, '');
}

/**
 * The catalog's auth style in the vocabulary of the existing transport (gateway.forward.ts
 * `UpstreamTarget`): `authType` + `authHeaderName` (the header name, or the query parameter name
 * for `query`). The credential is injected last, after the caller's headers are filtered.
 */
export function upstreamAuth(auth: ProviderAuth): {
  authType: 'bearer' | 'header' | 'query' | 'none';
  authHeaderName: string | null;
} {
  switch (auth.style) {
    case 'bearer':
      return { authType: 'bearer', authHeaderName: null };
    case 'x-api-key':
      return { authType: 'header', authHeaderName: 'x-api-key' };
    case 'api-key':
      return { authType: 'header', authHeaderName: 'api-key' };
    case 'query':
      return { authType: 'query', authHeaderName: auth.param };
    case 'none':
      return { authType: 'none', authHeaderName: null };
  }
}

/** The provider's default headers that the caller did not set (case-insensitive on names). */
export function missingDefaultHeaders(provider: LlmProvider, callerHeaders: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(provider.headers)) {
    if (!callerHeaders.has(name)) out[name] = value;
  }
  return out;
}

/** The public listing (`GET /api/v1/llm/providers`): everything but internals is already public. */
export function publicCatalog(): LlmCatalog {
  return LLM_CATALOG;
}
