/**
 * The LLM side of connections (`type: "llm"`, Igris's "virtual keys"): the provider comes from the
 * built-in catalog (workers/llm/llm.providers.json), which supplies what an MCP connection spells
 * out — the base URL (unless the connection overrides it) and how the credential is sent.
 *
 * Pure: these functions turn a create/update request into the fields the shared connection code
 * stores and checks (SSRF rules, auth combinations, re-pointing) exactly as for MCP upstreams.
 * What is stored in `upstream_url` is the effective base URL (`effectiveBaseUrl`), so the gateway
 * forwards to `upstream_url + <path after /v1>` without consulting the catalog for the address.
 */
import type { ConnectionRow } from '../db/schema';
import { AppError } from '../lib/errors';
import { effectiveBaseUrl, getProvider, type LlmProvider, upstreamAuth } from '../llm/llm.catalog';
import type { ConnectionSettingsInput } from '../shared/connection.settings';

type AuthType = ConnectionRow['authType'];

function fieldError(path: string, message: string, extra: Record<string, unknown> = {}): AppError {
  return new AppError('validation_failed', {
    details: { issues: [{ location: 'body', path, message, ...extra }] },
  });
}

/** `<base>/llm/<slug>/v1`: the OpenAI-style base URL (the Anthropic SDK takes it without `/v1`). */
export function llmGatewayUrl(baseUrl: string, slug: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/llm/${slug}/v1`;
}

/** The catalog provider a request names; 400 at `settings.provider` when absent or unknown. */
export function requireProvider(id: string | undefined): LlmProvider {
  if (id === undefined) {
    throw fieldError(
      'settings.provider',
      'an llm connection requires settings.provider (one of GET /api/v1/llm/providers)',
    );
  }
  const provider = getProvider(id);
  if (!provider) {
    throw fieldError(
      'settings.provider',
      'settings.provider is not a provider of the catalog (GET /api/v1/llm/providers lists them)',
      { rule: 'unknown_provider' },
    );
  }
  return provider;
}

/** Provider, model allowlist and shared provider objects mean nothing to an MCP upstream: refused rather than ignored. */
export function refuseLlmSettings(settings: Partial<ConnectionSettingsInput> | undefined): void {
  for (const field of ['provider', 'allowedModels', 'sharedProviderObjects'] as const) {
    if (settings?.[field] !== undefined) {
      throw fieldError(`settings.${field}`, `settings.${field} is only used by llm connections`);
    }
  }
}

/** The base URL to store: the given one (trailing slashes dropped) or the catalog's. */
function baseUrlFor(provider: LlmProvider, upstreamUrl: string | undefined): string {
  const base = effectiveBaseUrl(provider, upstreamUrl ?? null);
  if (base === null) {
    const example = provider.exampleBaseUrl ? ` (e.g. ${provider.exampleBaseUrl})` : '';
    throw fieldError(
      'upstreamUrl',
      `provider "${provider.id}" has no default base URL: upstreamUrl is required${example}`,
    );
  }
  return base;
}

export interface AuthFields {
  authType: AuthType;
  authHeaderName: string | null;
  authQueryParam: string | null;
}

/** The provider's credential style in the connection's vocabulary (header or query parameter name). */
export function providerAuthFields(provider: LlmProvider): AuthFields {
  const { authType, authHeaderName } = upstreamAuth(provider.auth);
  return {
    authType,
    authHeaderName: authType === 'header' ? authHeaderName : null,
    authQueryParam: authType === 'query' ? authHeaderName : null,
  };
}

interface CreateInput {
  type: 'mcp' | 'llm' | 'a2a';
  upstreamUrl?: string;
  authType?: AuthType;
  authHeaderName?: string;
  authQueryParam?: string;
  settings?: Partial<ConnectionSettingsInput>;
}

export interface LlmCreateFields {
  upstreamUrl: string;
  authType: AuthType;
  authHeaderName: string | undefined;
  authQueryParam: string | undefined;
}

/**
 * A new llm connection's upstream and auth fields. An explicit `authType` (with its header or
 * parameter name) wins over the provider's style, e.g. an OpenAI-compatible server that wants
 * `x-api-key`.
 */
export function llmCreateFields(input: CreateInput): LlmCreateFields {
  const provider = requireProvider(input.settings?.provider);
  const upstreamUrl = baseUrlFor(provider, input.upstreamUrl);
  if (input.authType !== undefined) {
    return {
      upstreamUrl,
      authType: input.authType,
      authHeaderName: input.authHeaderName,
      authQueryParam: input.authQueryParam,
    };
  }
  const derived = providerAuthFields(provider);
  return {
    upstreamUrl,
    authType: derived.authType,
    authHeaderName: derived.authHeaderName ?? undefined,
    authQueryParam: derived.authQueryParam ?? undefined,
  };
}

export interface LlmUpdateInput {
  upstreamUrl?: string;
  authType?: AuthType;
  authHeaderName?: string | null;
  authQueryParam?: string | null;
  settings?: Partial<ConnectionSettingsInput>;
}

/**
 * An update of an llm connection, completed with what a provider change implies: a URL that was
 * the old provider's default moves to the new provider's (a custom one stays), and the auth style
 * follows the new provider unless the request sets `authType`. The result goes through the same
 * checks as any update — a new origin still needs the credential for it.
 */
export function llmUpdateFields<T extends LlmUpdateInput>(
  row: { upstream_url: string; settings: { provider?: string } },
  input: T,
): T {
  const next = { ...input };
  const current = row.settings.provider ? getProvider(row.settings.provider) : null;
  // A stored connection without a (known) provider must be given one now.
  const provider =
    input.settings?.provider !== undefined
      ? requireProvider(input.settings.provider)
      : (current ?? requireProvider(undefined));
  const switched = provider.id !== current?.id;
  if (input.upstreamUrl !== undefined) {
    next.upstreamUrl = baseUrlFor(provider, input.upstreamUrl);
  } else if (switched && current?.baseUrl && row.upstream_url === current.baseUrl) {
    next.upstreamUrl = baseUrlFor(provider, undefined);
  }
  if (switched && input.authType === undefined) {
    const derived = providerAuthFields(provider);
    next.authType = derived.authType;
    next.authHeaderName = derived.authHeaderName;
    next.authQueryParam = derived.authQueryParam;
  }
  return next;
}

/**
 * The upstream and auth fields of a new connection: as given for MCP (upstreamUrl required, bearer
 * by default); completed from the provider catalog for LLM (connection.llm.ts).
 */
export function upstreamFields(input: CreateInput): LlmCreateFields {
  if (input.type === 'llm') return llmCreateFields(input);
  refuseLlmSettings(input.settings);
  if (input.upstreamUrl === undefined) throw fieldError('upstreamUrl', 'upstreamUrl is required');
  return {
    upstreamUrl: input.upstreamUrl,
    authType: input.authType ?? 'bearer',
    authHeaderName: input.authHeaderName,
    authQueryParam: input.authQueryParam,
  };
}
