/**
 * A2A AgentCards, pure: the zod shape the registry accepts (A2A v1.0 `supportedInterfaces`, or a
 * v0.3 card's `url` / `additionalInterfaces`), the agent's JSON-RPC endpoint, its skill ids, the
 * card rewritten for callers of the gateway, and what changed between two versions (recorded like
 * tool drift when a card is refreshed). No I/O: fetching and storing are a2a.registry.ts.
 */
import { z } from 'zod';

/** Largest card accepted (fetched or pasted); real cards are a few KB. */
export const MAX_CARD_BYTES = 256 * 1024;

const skillSchema = z.looseObject({ id: z.string().min(1).max(200), name: z.string().max(500).optional() });

const interfaceSchema = z.looseObject({
  url: z.string().min(1).max(2048),
  /** v1.0 */
  protocolBinding: z.string().max(100).optional(),
  /** v0.3 */
  transport: z.string().max(100).optional(),
  protocolVersion: z.string().max(20).optional(),
});

const cardShape = z.looseObject({
  name: z.string().min(1).max(500),
  description: z.string().max(10_000).optional(),
  version: z.string().max(100).optional(),
  supportedInterfaces: z.array(interfaceSchema).max(50).optional(),
  url: z.string().max(2048).optional(),
  preferredTransport: z.string().max(100).optional(),
  additionalInterfaces: z.array(interfaceSchema).max(50).optional(),
  skills: z.array(skillSchema).max(1000).default([]),
});

export type AgentCard = z.infer<typeof cardShape> & Record<string, unknown>;

/** The fields the gateway relies on; everything else passes through unchanged. */
export const agentCardSchema = cardShape.refine((card) => agentEndpointOf(card as AgentCard) !== null, {
  message:
    'the AgentCard names no JSON-RPC interface (supportedInterfaces with protocolBinding "JSONRPC", or url)',
  path: ['supportedInterfaces'],
});

const isJsonRpc = (i: { protocolBinding?: string; transport?: string }) =>
  (i.protocolBinding ?? i.transport ?? '').toUpperCase() === 'JSONRPC';

/** The agent's JSON-RPC endpoint: the first JSONRPC interface (v1.0), else a v0.3 card's `url`. */
export function agentEndpointOf(card: AgentCard): string | null {
  const v1 = card.supportedInterfaces?.find(isJsonRpc);
  if (v1) return v1.url;
  if (
    card.url &&
    (card.preferredTransport === undefined || card.preferredTransport.toUpperCase() === 'JSONRPC')
  )
    return card.url;
  return card.additionalInterfaces?.find(isJsonRpc)?.url ?? null;
}

export function skillIds(card: AgentCard): string[] {
  return card.skills.map((s) => s.id);
}

/** The name of the Igris security scheme in a rewritten card. */
export const IGRIS_SCHEME = 'igris';
const IGRIS_SCHEME_DESCRIPTION = 'Igris Edge API key: Authorization: Bearer ig_…';

/** The name of the OAuth scheme a rewritten card adds when OAuth is on for the connection. */
export const IGRIS_OAUTH_SCHEME = 'igris-oauth';

/**
 * Igris Edge as the agent's OAuth authorization server (docs/oauth.md): where its RFC 8414
 * metadata is, the authorization-code endpoints, and the scope a token needs on the agent.
 */
export interface CardOAuth {
  metadataUrl: string;
  authorizationUrl: string;
  tokenUrl: string;
  scope: string;
}

function oauth2Scheme(oauth: CardOAuth) {
  return {
    description: 'OAuth 2.1 through Igris Edge (authorization code with PKCE S256, dynamic registration)',
    oauth2MetadataUrl: oauth.metadataUrl,
  };
}

/** The authorization-code flow; `pkceRequired` exists only in A2A v1.0. */
function codeFlow(oauth: CardOAuth, v1: boolean) {
  return {
    authorizationUrl: oauth.authorizationUrl,
    tokenUrl: oauth.tokenUrl,
    refreshUrl: oauth.tokenUrl,
    scopes: { [oauth.scope]: 'Call this agent through the gateway as you' },
    ...(v1 ? { pkceRequired: true } : {}),
  };
}

/**
 * The card callers see: every interface points at the gateway (JSON-RPC only: the gateway speaks
 * no other binding), the agent's security schemes are replaced by Igris's bearer key, and what
 * would bypass the gateway or no longer verify is removed (signatures over the original card,
 * the authenticated extended card, per-skill security of the agent's own schemes). With `oauth`
 * (OAuth on for the connection) the card also offers Igris's OAuth scheme, as an alternative to the key.
 */
export function rewriteCard(
  card: AgentCard,
  gatewayUrl: string,
  oauth: CardOAuth | null = null,
): Record<string, unknown> {
  const v1 = card.supportedInterfaces?.find(isJsonRpc);
  const out: Record<string, unknown> = { ...card };
  delete out.signatures;
  out.skills = card.skills.map((s) => {
    const skill: Record<string, unknown> = { ...s };
    delete skill.securityRequirements;
    delete skill.security;
    return skill;
  });
  const capabilities = { ...((card.capabilities as Record<string, unknown> | undefined) ?? {}) };
  capabilities.extendedAgentCard = false;
  out.capabilities = capabilities;
  if (card.supportedInterfaces) {
    out.supportedInterfaces = [
      {
        ...(v1 ?? {}),
        url: gatewayUrl,
        protocolBinding: 'JSONRPC',
        protocolVersion: v1?.protocolVersion ?? '1.0',
      },
    ];
    out.securitySchemes = {
      [IGRIS_SCHEME]: { httpAuthSecurityScheme: { scheme: 'Bearer', description: IGRIS_SCHEME_DESCRIPTION } },
    };
    out.securityRequirements = [{ schemes: { [IGRIS_SCHEME]: { list: [] } } }];
    if (oauth) {
      // v1.0 (proto JSON): requirements are alternatives, so either credential is enough.
      (out.securitySchemes as Record<string, unknown>)[IGRIS_OAUTH_SCHEME] = {
        oauth2SecurityScheme: { ...oauth2Scheme(oauth), flows: { authorizationCode: codeFlow(oauth, true) } },
      };
      (out.securityRequirements as unknown[]).push({
        schemes: { [IGRIS_OAUTH_SCHEME]: { list: [oauth.scope] } },
      });
    }
  }
  if (card.url !== undefined || !card.supportedInterfaces) {
    // v0.3 shape.
    out.url = gatewayUrl;
    out.preferredTransport = 'JSONRPC';
    out.additionalInterfaces = [{ url: gatewayUrl, transport: 'JSONRPC' }];
    out.supportsAuthenticatedExtendedCard = false;
    if (!card.supportedInterfaces) {
      out.securitySchemes = {
        [IGRIS_SCHEME]: { type: 'http', scheme: 'bearer', description: IGRIS_SCHEME_DESCRIPTION },
      };
      out.security = [{ [IGRIS_SCHEME]: [] }];
      if (oauth) {
        (out.securitySchemes as Record<string, unknown>)[IGRIS_OAUTH_SCHEME] = {
          type: 'oauth2',
          ...oauth2Scheme(oauth),
          flows: { authorizationCode: codeFlow(oauth, false) },
        };
        (out.security as unknown[]).push({ [IGRIS_OAUTH_SCHEME]: [oauth.scope] });
      }
    }
  }
  return out;
}

export interface CardChanges {
  /** Top-level fields whose value changed (skills reported apart). */
  fields: string[];
  skillsAdded: string[];
  skillsRemoved: string[];
  skillsChanged: string[];
  endpoint: { from: string | null; to: string | null } | null;
}

/** JSON with object keys sorted: the same card always serializes (and hashes) the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}

/** What changed from one stored card to the next (names only, like tool drift). */
export function cardChanges(before: AgentCard, after: AgentCard): CardChanges {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  keys.delete('skills');
  const fields = [...keys].filter((k) => canonicalJson(before[k]) !== canonicalJson(after[k])).sort();
  const beforeSkills = new Map(before.skills.map((s) => [s.id, canonicalJson(s)]));
  const afterSkills = new Map(after.skills.map((s) => [s.id, canonicalJson(s)]));
  const fromEndpoint = agentEndpointOf(before);
  const toEndpoint = agentEndpointOf(after);
  return {
    fields,
    skillsAdded: [...afterSkills.keys()].filter((id) => !beforeSkills.has(id)),
    skillsRemoved: [...beforeSkills.keys()].filter((id) => !afterSkills.has(id)),
    skillsChanged: [...afterSkills.keys()].filter(
      (id) => beforeSkills.has(id) && beforeSkills.get(id) !== afterSkills.get(id),
    ),
    endpoint: fromEndpoint === toEndpoint ? null : { from: fromEndpoint, to: toEndpoint },
  };
}

export function hasChanges(changes: CardChanges): boolean {
  return (
    changes.fields.length +
      changes.skillsAdded.length +
      changes.skillsRemoved.length +
      changes.skillsChanged.length >
    0
  );
}

/** The card URL of an agent base URL: `<base>/.well-known/agent-card.json`, unless it already names a card. */
export function cardUrlOf(url: string): string {
  const parsed = new URL(url);
  if (/\.json$/i.test(parsed.pathname)) return parsed.toString();
  parsed.pathname = `${parsed.pathname.replace(/\/+$/, '')}/.well-known/agent-card.json`;
  return parsed.toString();
}

/** `<base>/v1/a2a/<slug>`: the gateway's JSON-RPC endpoint for an agent (its card is below it). */
export function a2aGatewayUrl(baseUrl: string, slug: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/v1/a2a/${slug}`;
}
