/**
 * How many of each thing an organization may create through the management API, and the one way
 * a create is refused at the bound (docs/permissions.md#how-many-of-each).
 *
 * Every table here is read whole, or nearly, by something that runs often: the gateway's
 * governance snapshot (teams, members, prompts and their assignments, budgets), the detection
 * engine an organization compiles (custom rules and packs), alert routing (channels), the
 * dashboard's lists. With no bound, a compromised admin key (or a
 * script in a loop) makes each of them as large as it likes, for the organization and for the
 * isolate it shares with others. The caps are generous — far above what an organization uses —
 * so they only stop a runaway.
 *
 * Race-safe: the count is part of the INSERT (`INSERT … SELECT … WHERE (count) < cap`), one
 * statement, and D1 runs a batch as one transaction with writes serialized, so two creates at once
 * cannot both take the last place. What else the create writes in its batch (the audit row, a
 * first version) is written only if the row was (`EXISTS` on its fresh id), so a refused create
 * changes nothing, not even the audit trail. The count stops at the cap (`LIMIT`), so it reads at
 * most `cap` index entries.
 */
import { AppError, type ErrorLocation } from '../lib/errors';

export interface CountLimit {
  /** What the message calls them, plural: "teams", "custom detection rules". */
  noun: string;
  /** Whose they are (the message names it). */
  owner: 'organization' | 'connection' | 'account';
  cap: number;
  table: string;
  /** The rows that count, as an SQL condition on `table` with `?` for the scope's bindings. */
  where: string;
  /** What frees a place, when it is not deleting one. */
  remedy?: string;
}

export const COUNT_LIMITS = {
  teams: { noun: 'teams', owner: 'organization', cap: 1_000, table: 'teams', where: 'org_id = ?' },
  teamMembers: {
    noun: 'team members (all teams together)',
    owner: 'organization',
    cap: 10_000,
    table: 'team_members',
    where: 'org_id = ?',
  },
  systemPrompts: {
    noun: 'system prompts',
    owner: 'organization',
    cap: 1_000,
    table: 'system_prompts',
    where: 'org_id = ?',
  },
  promptAssignments: {
    noun: 'system prompt assignments',
    owner: 'organization',
    cap: 5_000,
    table: 'system_prompt_assignments',
    where: 'org_id = ?',
  },
  detectionRules: {
    noun: 'custom detection rules',
    owner: 'organization',
    cap: 500,
    table: 'detection_rules',
    where: 'org_id = ?',
  },
  detectionPacks: {
    noun: 'custom detection packs',
    owner: 'organization',
    cap: 100,
    table: 'detection_packs',
    where: 'org_id = ?',
  },
  notifyChannels: {
    noun: 'notification channels',
    owner: 'organization',
    cap: 100,
    table: 'notify_channels',
    where: 'org_id = ?',
  },
  budgets: { noun: 'budgets', owner: 'organization', cap: 1_000, table: 'budgets', where: 'org_id = ?' },
  apiKeys: {
    noun: 'active API keys',
    owner: 'organization',
    cap: 1_000,
    table: 'api_keys',
    // Revoked keys stay listed (and audited) but no longer count: revoking one frees its place.
    where: 'org_id = ? AND revoked_at IS NULL',
    remedy: 'revoke one first',
  },
  connections: {
    noun: 'connections',
    owner: 'organization',
    cap: 1_000,
    table: 'connections',
    where: 'org_id = ?',
  },
  organizationsPerPerson: {
    noun: 'organizations',
    owner: 'account',
    cap: 100,
    table: 'members',
    where: 'user_id = ?',
    remedy: 'leave one first',
  },
  xaaIssuers: {
    noun: 'trusted Cross App Access issuers',
    owner: 'organization',
    cap: 100,
    table: 'xaa_issuers',
    where: 'org_id = ?',
  },
  metricsTokens: {
    noun: 'active metrics scraper tokens',
    owner: 'organization',
    cap: 100,
    table: 'metrics_tokens',
    where: 'org_id = ? AND revoked_at IS NULL',
    remedy: 'revoke one first',
  },
  llmPrices: {
    noun: 'model price overrides',
    owner: 'organization',
    cap: 1_000,
    table: 'llm_prices',
    where: 'org_id = ?',
  },
  scanSuppressions: {
    noun: 'scan suppressions',
    owner: 'connection',
    cap: 1_000,
    table: 'scan_suppressions',
    // Per connection: the table's index is (connection_id, fingerprint), and findings are a connection's.
    where: 'connection_id = ?',
  },
  killSwitches: {
    noun: 'active kill switches on connections, API keys and people',
    owner: 'organization',
    cap: 1_000,
    table: 'kill_switches',
    // Every guard of the organization loads and matches these (durable-objects/kill.match.ts).
    // Organization-wide switches never count and are never refused (the emergency stop); session
    // suspends have their own limit below. Lifting one frees its place.
    where: "org_id = ? AND lifted_at IS NULL AND scope IN ('connection', 'apiKey', 'user')",
    remedy: 'lift one first',
  },
  sessionSuspends: {
    noun: 'suspended sessions',
    owner: 'organization',
    cap: 1_000,
    table: 'kill_switches',
    where: "org_id = ? AND lifted_at IS NULL AND scope = 'session'",
    remedy: 'resume (lift) one first',
  },
  invitations: {
    noun: 'pending invitations',
    owner: 'organization',
    cap: 1_000,
    table: 'invitations',
    // Live ones (not accepted, revoked or expired), except the one a new invitation to the same
    // address replaces: scope = [orgId, now, email].
    where: 'org_id = ? AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ? AND email <> ?',
    remedy: 'revoke one, or wait for one to be accepted or to expire',
  },
} as const satisfies Record<string, CountLimit>;

/** `(count of the limit's rows, at most cap) < cap`, and its bindings after `scope`'s. */
export function belowCap(limit: CountLimit): string {
  return `(SELECT count(*) FROM (SELECT 1 FROM ${limit.table} WHERE ${limit.where} LIMIT ${limit.cap})) < ${limit.cap}`;
}

/**
 * `insert` (`INSERT INTO t (a, b, c)`) of `values`, only while fewer than `cap` rows count for
 * `scope` (the bindings of the limit's `where`: the organization id, a connection id…). `orExisting`
 * (an SQL condition with its bindings) also lets it through at the cap — an upsert of a row that
 * is already there takes no new place. `tail` follows the SELECT (an `ON CONFLICT …` clause).
 */
export function insertBelowCap(
  db: D1Database,
  limit: CountLimit,
  scope: unknown[],
  insert: string,
  values: unknown[],
  options: { orExisting?: { sql: string; binds: unknown[] }; tail?: string } = {},
): D1PreparedStatement {
  const marks = values.map(() => '?').join(', ');
  const existing = options.orExisting ? ` OR EXISTS (${options.orExisting.sql})` : '';
  return db
    .prepare(`${insert} SELECT ${marks} WHERE (${belowCap(limit)}${existing}) ${options.tail ?? ''}`)
    .bind(...values, ...scope, ...(options.orExisting?.binds ?? []));
}

/**
 * Check-then-insert, for a create that writes several rows none of which can carry the count
 * (a new organization: the organization, its owner's membership, their session's switch): throws
 * at the cap. Two creates at the very same moment may both pass — a person running them in
 * parallel overshoots by their own concurrency, which the bound (against a loop) tolerates.
 */
export async function requireBelowCap(db: D1Database, limit: CountLimit, scope: unknown[]): Promise<void> {
  const row = await db
    .prepare(`SELECT ${belowCap(limit)} AS ok`)
    .bind(...scope)
    .first<{ ok: number }>();
  if (!row?.ok) throw limitReached(limit);
}

/** The typed refusal: 409 `limit_reached`, naming the limit, its cap and where the request was. */
export function limitReached(limit: CountLimit, where: ErrorLocation = { location: 'body' }): AppError {
  return new AppError('limit_reached', {
    message: `This ${limit.owner} already has ${limit.cap} ${limit.noun}, the most it may have: ${limit.remedy ?? 'delete one first'}`,
    details: { ...where, limit: limit.noun, max: limit.cap },
  });
}

/** Throws `limitReached` unless the batch's capped INSERT (its result) wrote its row. */
export function requireInserted(
  result: D1Result | undefined,
  limit: CountLimit,
  where?: ErrorLocation,
): void {
  if (!result || result.meta.changes === 0) throw limitReached(limit, where);
}

/** The guard of what a capped create writes besides its row: that the row (its fresh id) is there. */
export function rowExists(table: string, id: string): { sql: string; binds: unknown[] } {
  return { sql: `SELECT 1 FROM ${table} WHERE id = ?`, binds: [id] };
}
