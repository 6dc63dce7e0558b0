/**
 * The A2A agent registry: an agent is a `type: "a2a"` connection (the connection machinery —
 * vault, sharing, policy, guard — is reused as is) plus its AgentCard in `a2a_agent_cards`.
 *
 * A card comes from a URL (the agent's base URL, whose card is at `/.well-known/agent-card.json`,
 * or the card's own URL) or is pasted. The card URL and the agent's endpoint named in the card
 * both pass the upstream SSRF rules (connection.rules.ts); the card fetch follows no redirect,
 * carries no credential, and is capped in size and time. The agent's JSON-RPC endpoint becomes
 * the connection's `upstream_url`, so the gateway never reads the card on the hot path.
 */
import type { Principal } from '../app.types';
import { adminAuditStatement } from '../audit/audit.admin';
import { checkOutboundUrl } from '../connections/connection.rules';
import { secretFollowsOrigin } from '../connections/connection.secrets';
import { type ConnectionEnv, getConnectionRow } from '../connections/connections.read';
import { AppError } from '../lib/errors';
import { sha256Hex } from '../lib/hex';
import { readRemoteText } from '../lib/http.bounded';
import { quotedPath } from '../lib/issues.list';
import { parseStoredJson } from '../lib/values';
import { getVault } from '../vault/vault.crypto';
import {
  type AgentCard,
  agentCardSchema,
  agentEndpointOf,
  type CardChanges,
  canonicalJson,
  cardChanges,
  cardUrlOf,
  hasChanges,
  MAX_CARD_BYTES,
} from './a2a.card';

const CARD_FETCH_TIMEOUT_MS = 10_000;

interface RegistryEnv {
  DB: D1Database;
  ALLOW_PRIVATE_UPSTREAMS?: string;
}

export interface ResolvedCard {
  card: AgentCard;
  cardUrl: string | null;
  endpoint: string;
  hash: string;
}

function fieldError(path: string, message: string, extra: Record<string, unknown> = {}): AppError {
  return new AppError('validation_failed', {
    details: { issues: [{ location: 'body', path, message, ...extra }] },
  });
}

function checkUrl(env: RegistryEnv, url: string, path: string): void {
  const result = checkOutboundUrl(env, url);
  if (!result.ok) throw fieldError(path, result.message, { rule: result.rule });
}

/** Validates a card (fetched or pasted) and checks the endpoint it names. */
async function acceptCard(
  env: RegistryEnv,
  value: unknown,
  cardUrl: string | null,
  path: string,
): Promise<ResolvedCard> {
  const parsed = agentCardSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // The card's keys are its author's text: quoted bounded, `[key]` if one looks like a credential.
    throw fieldError(
      path,
      `not a valid AgentCard: ${(issue && quotedPath(issue.path)) || '(root)'}: ${issue?.message}`,
    );
  }
  const card = parsed.data as AgentCard;
  const endpoint = agentEndpointOf(card)!;
  checkUrl(env, endpoint, `${path}.supportedInterfaces`);
  return { card, cardUrl, endpoint, hash: await sha256Hex(canonicalJson(card)) };
}

/** Fetches an AgentCard: SSRF-checked, no redirects, no credential, capped in size and time. */
export async function fetchCard(env: RegistryEnv, url: string, path = 'agentCardUrl'): Promise<ResolvedCard> {
  checkUrl(env, url, path);
  const cardUrl = cardUrlOf(url);
  checkUrl(env, cardUrl, path);
  let res: Response;
  try {
    res = await fetch(cardUrl, {
      redirect: 'manual',
      headers: { Accept: 'application/json', 'A2A-Version': '1.0' },
      signal: AbortSignal.timeout(CARD_FETCH_TIMEOUT_MS),
    });
  } catch (err) {
    throw new AppError('upstream_unreachable', {
      message: 'The AgentCard could not be fetched',
      details: { location: 'body', path },
      internal: err,
    });
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw fieldError(path, `the AgentCard URL answered HTTP ${res.status} (redirects are not followed)`, {
      rule: 'agent_card_fetch',
    });
  }
  // Over the cap (a declared Content-Length before anything is read, else as it streams) the card is
  // refused as the field it came from, and the connection dropped rather than drained.
  const text = await readRemoteText(res, MAX_CARD_BYTES, 'AgentCard', {
    tooLarge: () =>
      fieldError(path, `the AgentCard is over ${MAX_CARD_BYTES} bytes`, { rule: 'agent_card_size' }),
  });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw fieldError(path, 'the AgentCard URL did not answer JSON', { rule: 'agent_card_fetch' });
  }
  return acceptCard(env, value, cardUrl, path);
}

/** A card given by URL or pasted in a create request. */
export async function resolveCard(
  env: RegistryEnv,
  input: { agentCardUrl?: string; agentCard?: Record<string, unknown>; upstreamUrl?: string },
): Promise<ResolvedCard> {
  if (input.agentCard !== undefined) {
    if (new TextEncoder().encode(JSON.stringify(input.agentCard)).byteLength > MAX_CARD_BYTES)
      throw fieldError('agentCard', `the AgentCard is over ${MAX_CARD_BYTES} bytes`);
    return acceptCard(env, input.agentCard, null, 'agentCard');
  }
  const url = input.agentCardUrl ?? input.upstreamUrl;
  if (!url)
    throw fieldError('agentCardUrl', 'an a2a connection needs agentCardUrl (or upstreamUrl) or agentCard');
  return fetchCard(env, url, input.agentCardUrl ? 'agentCardUrl' : 'upstreamUrl');
}

export function insertCardStatement(
  db: D1Database,
  orgId: string,
  connectionId: string,
  resolved: ResolvedCard,
): D1PreparedStatement {
  // Only for a connection of the organization that is there: in a create's batch, the connection
  // row may have been refused by the organization's count limit (shared/count.limits.ts).
  return db
    .prepare(
      `INSERT INTO a2a_agent_cards (connection_id, org_id, card_url, card, card_hash, fetched_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM connections WHERE id = ?1 AND org_id = ?2)
       ON CONFLICT (connection_id) DO UPDATE SET card_url = excluded.card_url, card = excluded.card,
         card_hash = excluded.card_hash, fetched_at = excluded.fetched_at, refresh_held_at = NULL`,
    )
    .bind(connectionId, orgId, resolved.cardUrl, JSON.stringify(resolved.card), resolved.hash, Date.now());
}

export interface StoredCard {
  card: AgentCard;
  cardUrl: string | null;
  hash: string;
  fetchedAt: number;
}

/** The stored card of a connection of this organization, or null. */
export async function loadCard(
  db: D1Database,
  orgId: string,
  connectionId: string,
): Promise<StoredCard | null> {
  const row = await db
    .prepare(
      'SELECT card, card_url, card_hash, fetched_at FROM a2a_agent_cards WHERE connection_id = ? AND org_id = ?',
    )
    .bind(connectionId, orgId)
    .first<{ card: string; card_url: string | null; card_hash: string; fetched_at: number }>();
  if (!row) return null;
  return {
    card: parseStoredJson(row.card) as AgentCard,
    cardUrl: row.card_url,
    hash: row.card_hash,
    fetchedAt: row.fetched_at,
  };
}

export interface RefreshResult {
  changed: boolean;
  changes: CardChanges | null;
  card: AgentCard;
  cardUrl: string | null;
  fetchedAt: number;
}

/**
 * Re-fetches the card of an a2a connection (or stores a newly pasted one). A changed card is
 * stored with an admin audit row naming what changed (like tool drift); when the agent's endpoint
 * moved, the connection's upstream_url follows in the same batch.
 */
export async function refreshCard(
  env: ConnectionEnv,
  principal: Principal,
  slug: string,
  pasted?: Record<string, unknown>,
  credential?: string,
): Promise<RefreshResult> {
  const row = await getConnectionRow(env, principal, slug, 'connections:write');
  const sealed =
    credential === undefined
      ? undefined
      : await (await getVault(env)).encrypt(credential, `${principal.orgId}:${row.id}`);
  return refreshConnectionCard(env, principal, row, pasted, sealed);
}

/**
 * The stored credential was given for the agent's current endpoint: a card moving the endpoint to
 * another origin (pasted by whoever may change the connection, or published wherever the card
 * lives) must come with the credential for the new host (`sealed`), else it is refused and the
 * stored card and endpoint stay.
 */
async function checkEndpointMove(
  env: RegistryEnv,
  orgId: string,
  connectionId: string,
  endpoint: string,
  sealed: string | undefined,
): Promise<void> {
  const current = await env.DB.prepare(
    'SELECT upstream_url, credential_ciphertext FROM connections WHERE id = ? AND org_id = ?',
  )
    .bind(connectionId, orgId)
    .first<{ upstream_url: string; credential_ciphertext: string | null }>();
  const moved = secretFollowsOrigin({
    from: current?.upstream_url ?? null,
    to: endpoint,
    keepsSecret: Boolean(current?.credential_ciphertext) && sealed === undefined,
    urlPath: 'agentCard',
    secretPath: 'credential',
  });
  if (moved) throw moved;
}

/**
 * The refresh itself, for a connection already resolved in `principal`'s organization (the
 * management API above, or the scheduled refresh with a system principal: a2a.refresh.ts).
 */
export async function refreshConnectionCard(
  env: RegistryEnv,
  principal: Principal,
  row: { id: string; slug: string; type: string },
  pasted?: Record<string, unknown>,
  /** The agent's credential for its (new) endpoint, sealed for this connection. */
  sealed?: string,
): Promise<RefreshResult> {
  if (row.type !== 'a2a') {
    throw new AppError('not_found', {
      message: 'Not an A2A connection',
      details: { location: 'path', path: 'slug' },
    });
  }
  const stored = await loadCard(env.DB, principal.orgId, row.id);
  const url = stored?.cardUrl ?? null;
  if (!pasted && !url)
    throw fieldError('agentCard', 'this agent’s card was pasted: send the new card as agentCard');
  const next = pasted
    ? await acceptCard(env, pasted, null, 'agentCard')
    : await fetchCard(env, url!, 'agentCardUrl');
  await checkEndpointMove(env, principal.orgId, row.id, next.endpoint, sealed);
  const now = Date.now();
  if (stored && stored.hash === next.hash && sealed === undefined) {
    // An accepted card ends a scheduled-refresh hold (a2a.refresh.ts), whoever fetched it.
    await env.DB.prepare(
      'UPDATE a2a_agent_cards SET fetched_at = ?, refresh_held_at = NULL WHERE connection_id = ? AND org_id = ?',
    )
      .bind(now, row.id, principal.orgId)
      .run();
    return { changed: false, changes: null, card: stored.card, cardUrl: stored.cardUrl, fetchedAt: now };
  }
  const changes = stored ? cardChanges(stored.card, next.card) : null;
  await env.DB.batch([
    insertCardStatement(env.DB, principal.orgId, row.id, next),
    env.DB.prepare(
      `UPDATE connections SET upstream_url = ?, credential_ciphertext = COALESCE(?, credential_ciphertext),
         updated_at = ? WHERE id = ? AND org_id = ?`,
    ).bind(next.endpoint, sealed ?? null, now, row.id, principal.orgId),
    adminAuditStatement(env.DB, principal, {
      action: 'connection.agent_card.changed',
      connectionId: row.id,
      connectionSlug: row.slug,
      details: {
        source: pasted ? 'pasted' : 'fetched',
        ...(changes ?? {}),
        ...(sealed !== undefined ? { credential: 'replaced' } : {}),
      },
    }),
  ]);
  return {
    changed: changes === null || hasChanges(changes) || changes.endpoint !== null,
    changes,
    card: next.card,
    cardUrl: next.cardUrl,
    fetchedAt: now,
  };
}
