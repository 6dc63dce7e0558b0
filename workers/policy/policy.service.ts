/**
 * Policies per connection, versioned: every PUT (and every rollback) writes the next version in
 * D1, then publishes it to KV for the gateways (workers/policy/policy.store.ts).
 */
import type { Principal } from '../app.types';
import { adminAuditStatement } from '../audit/audit.admin';
import { type ConnectionEnv, getConnectionRow } from '../connections/connections.read';
import { AppError } from '../lib/errors';
import { sha256Hex } from '../lib/hex';
import { randomId } from '../lib/ids';
import { listIssues, quoted } from '../lib/issues.list';
import { compilePolicy } from './policy.evaluate';
import { explain } from './policy.explain';
import {
  dropOldTombstonesStatements,
  type PolicyTombstone,
  pruneOldVersionsStatement,
  versionPruned,
  versionPrunedWithoutTombstone,
} from './policy.retention';
import { type Policy, parsePolicy } from './policy.schema';
import { publishPolicy } from './policy.store';
import { argumentWarnings, type PolicyWarning, type ToolSchemas } from './policy.warnings';
import { wasPruned } from './policy.watermark';

export interface PolicyVersionDto {
  version: number;
  rules: unknown[];
  createdBy: string | null;
  createdAt: string;
  rolledBackFrom: number | null;
}

interface PolicyDbRow {
  version: number;
  /** '' when pruned (pruned_at set). */
  rules: string;
  rules_sha256: string | null;
  pruned_at: number | null;
  created_by: string | null;
  created_at: number;
  rolled_back_from: number | null;
}

function toDto(row: PolicyDbRow): PolicyVersionDto {
  return {
    version: row.version,
    rules: JSON.parse(row.rules) as unknown[],
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
    rolledBackFrom: row.rolled_back_from,
  };
}

/** Validates a policy document, refusing with every issue's rule index and field path. */
export function validatePolicy(input: unknown): Policy {
  const parsed = parsePolicy(input);
  if (parsed.ok) return parsed.policy;
  throw new AppError('validation_failed', {
    message: 'Invalid policy',
    // The first issues only, and their count (lib/issues.list.ts): 10,000 bad rules are not 10,000 lines.
    details: listIssues(
      parsed.issues.map((i) => ({
        location: 'body',
        path: quoted(i.path),
        ruleIndex: i.ruleIndex,
        message: i.message,
      })),
    ),
  });
}

const LATEST =
  'SELECT version, rules, rules_sha256, pruned_at, created_by, created_at, rolled_back_from FROM policies WHERE org_id = ? AND connection_id = ?';

export async function getCurrentPolicy(env: ConnectionEnv, principal: Principal, slug: string) {
  const connection = await getConnectionRow(env, principal, slug, 'policies:read');
  const row = await env.DB.prepare(`${LATEST} ORDER BY version DESC LIMIT 1`)
    .bind(principal.orgId, connection.id)
    .first<PolicyDbRow>();
  return { connection, policy: row ? toDto(row) : null };
}

export async function listPolicyVersions(env: ConnectionEnv, principal: Principal, slug: string) {
  const connection = await getConnectionRow(env, principal, slug, 'policies:read');
  // The versions that keep their rules (policy.retention.ts); a pruned one is read alone (getPolicyVersion).
  const { results } = await env.DB.prepare(`${LATEST} AND pruned_at IS NULL ORDER BY version DESC LIMIT 500`)
    .bind(principal.orgId, connection.id)
    .all<PolicyDbRow>();
  return results.map(toDto);
}

/**
 * D1 stores a value (and a row) of at most 2,000,000 bytes: a version is one row whose `rules`
 * column is the policy as compact JSON. Past that D1 fails the INSERT, so a policy too large to
 * store is refused here with a typed error (before: a 500) and nothing is written. The room left
 * is for the row's other columns.
 */
export const MAX_STORED_POLICY_BYTES = 1_990_000;

function storedRules(policy: Policy): string {
  const rules = JSON.stringify(policy.rules);
  // UTF-16 length ≤ UTF-8 length ≤ 3 × UTF-16 length: encode only when it could matter.
  if (
    rules.length * 3 > MAX_STORED_POLICY_BYTES &&
    new TextEncoder().encode(rules).byteLength > MAX_STORED_POLICY_BYTES
  ) {
    throw new AppError('payload_too_large', {
      message: `Policy is larger than can be stored (${MAX_STORED_POLICY_BYTES} bytes as compact JSON)`,
      details: { location: 'body', path: 'rules', maxBytes: MAX_STORED_POLICY_BYTES },
    });
  }
  return rules;
}

async function writeVersion(
  env: ConnectionEnv,
  principal: Principal,
  slug: string,
  policy: Policy,
  rolledBackFrom: number | null,
): Promise<{ dto: PolicyVersionDto; connectionId: string }> {
  const connection = await getConnectionRow(env, principal, slug, 'policies:write');
  const rules = storedRules(policy);
  const rulesSha256 = await sha256Hex(rules);
  const now = Date.now();
  // The version is computed inside the INSERT, so two concurrent PUTs can't both take the same
  // number: the unique (connection_id, version) index makes the loser fail instead of overwrite.
  const insert = env.DB.prepare(
    `INSERT INTO policies (id, org_id, connection_id, version, rules, rules_sha256, created_by, rolled_back_from, created_at)
     SELECT ?, ?, ?, coalesce(max(version), 0) + 1, ?, ?, ?, ?, ? FROM policies WHERE connection_id = ?
     RETURNING version`,
  ).bind(
    randomId('pol'),
    principal.orgId,
    connection.id,
    rules,
    rulesSha256,
    principal.userId,
    rolledBackFrom,
    now,
    connection.id,
  );
  const [inserted] = await env.DB.batch<{ version: number }>([
    insert,
    // Old versions leave their rules behind in the same transaction (policy.retention.ts).
    pruneOldVersionsStatement(env.DB, connection.id, now),
    // …and the oldest tombstones leave for the watermark: storage stays bounded (policy.retention.ts).
    ...dropOldTombstonesStatements(env.DB, connection.id),
    adminAuditStatement(env.DB, principal, {
      action: rolledBackFrom === null ? 'policy.update' : 'policy.rollback',
      connectionId: connection.id,
      connectionSlug: connection.slug,
      details: {
        rules: policy.rules.length,
        // The same hash the version keeps once pruned: the trail says which content each version held.
        rulesSha256,
        ...(rolledBackFrom === null ? {} : { rolledBackTo: rolledBackFrom }),
      },
    }),
  ]);
  const version = inserted!.results[0]!.version;
  // KV is spanned by no D1 transaction: the rules are published only once the version and its audit
  // row are committed together (above). A failed audit write publishes nothing and the call answers
  // an error; a failed publish answers an error too (never 2xx), its version already recorded.
  await publishPolicy(env.POLICY_KV, principal.orgId, connection.id, { version, rules: policy.rules });
  return {
    dto: {
      version,
      rules: policy.rules,
      createdBy: principal.userId,
      createdAt: new Date(now).toISOString(),
      rolledBackFrom,
    },
    connectionId: connection.id,
  };
}

export async function putPolicy(env: ConnectionEnv, principal: Principal, slug: string, input: unknown) {
  const { policy, confirmDenyAll } = validatePolicyPut(input);
  if (policy.rules.length === 0 && !confirmDenyAll) {
    // Permission and existence first: a caller who may not write this policy learns nothing more.
    await getConnectionRow(env, principal, slug, 'policies:write');
    throw policyIssue(
      'rules',
      'an empty rule list denies every governed call: send "confirmDenyAll": true to confirm',
    );
  }
  const written = await writeVersion(env, principal, slug, policy, null);
  const warnings = argumentWarnings(policy, await toolSchemas(env, principal.orgId, written.connectionId));
  return { ...written, warnings };
}

/**
 * The input schemas of the connection's current tools, from the tool inventory (issue 17): what
 * `args.*` conditions are checked against. No inventory yet (never listed): no warnings.
 */
async function toolSchemas(env: ConnectionEnv, orgId: string, connectionId: string): Promise<ToolSchemas> {
  const { results } = await env.DB.prepare(
    `SELECT name, definition FROM tool_inventory
     WHERE org_id = ? AND connection_id = ? AND kind = 'tool' AND removed = 0 LIMIT 2000`,
  )
    .bind(orgId, connectionId)
    .all<{ name: string; definition: string | null }>();
  const schemas = new Map<string, unknown>();
  for (const row of results) {
    const definition =
      row.definition === null ? null : (JSON.parse(row.definition) as Record<string, unknown> | null);
    if (definition && typeof definition === 'object') schemas.set(row.name, definition.inputSchema);
  }
  return schemas;
}

export type { PolicyWarning };

/**
 * A PUT's document: the policy, plus `confirmDenyAll`. An empty rule list denies every governed
 * call of the connection — one slip away from an outage — so it must be asked for explicitly
 * (`{"rules": [], "confirmDenyAll": true}`); the flag itself is not stored.
 */
export function validatePolicyPut(input: unknown): { policy: Policy; confirmDenyAll: boolean } {
  if (!input || typeof input !== 'object' || Array.isArray(input) || !('confirmDenyAll' in input)) {
    return { policy: validatePolicy(input), confirmDenyAll: false };
  }
  const { confirmDenyAll, ...rest } = input as Record<string, unknown>;
  if (typeof confirmDenyAll !== 'boolean') {
    throw policyIssue('confirmDenyAll', 'confirmDenyAll must be true or false');
  }
  return { policy: validatePolicy(rest), confirmDenyAll };
}

function policyIssue(path: string, message: string): AppError {
  return new AppError('validation_failed', {
    message: `Invalid policy: ${message}`,
    details: { location: 'body', path, issues: [{ location: 'body', path, ruleIndex: null, message }] },
  });
}

export async function rollbackPolicy(
  env: ConnectionEnv,
  principal: Principal,
  slug: string,
  version: number,
) {
  const connection = await getConnectionRow(env, principal, slug, 'policies:write');
  const row = await versionWithRules(env.DB, principal.orgId, connection.id, version, version, 'body');
  return writeVersion(env, principal, slug, validatePolicy({ rules: JSON.parse(row.rules) }), version);
}

/** One version: its rules, or 410 `pruned` (with its tombstone while it has one), or 404 if there never was one. */
export async function getPolicyVersion(
  env: ConnectionEnv,
  principal: Principal,
  slug: string,
  version: string,
): Promise<PolicyVersionDto> {
  const connection = await getConnectionRow(env, principal, slug, 'policies:read');
  const number = /^[1-9][0-9]{0,8}$/.test(version) ? Number(version) : null;
  return toDto(await versionWithRules(env.DB, principal.orgId, connection.id, number, version, 'path'));
}

/**
 * A version that still has its rules: 404 if there never was one (or `number` is null: not a
 * version number), 410 `pruned` with its tombstone if it was pruned, 410 `pruned` without one if
 * it lies below the connection's watermark (its tombstone was dropped too). `where`: where the
 * number was sent (a rollback's body, a GET's path).
 */
async function versionWithRules(
  db: D1Database,
  orgId: string,
  connectionId: string,
  number: number | null,
  asSent: string | number,
  where: 'path' | 'body',
): Promise<PolicyDbRow> {
  const row =
    number === null
      ? null
      : await db.prepare(`${LATEST} AND version = ?`).bind(orgId, connectionId, number).first<PolicyDbRow>();
  if (!row && number !== null) {
    // Only a miss reads the watermark: the common read costs what it did.
    const prunedBelow = await connectionPrunedBelow(db, orgId, connectionId);
    if (wasPruned(number, prunedBelow))
      throw versionPrunedWithoutTombstone(number, prunedBelow, { location: where, path: 'version' });
  }
  if (!row)
    throw new AppError('not_found', {
      message: `Policy version ${asSent} not found`,
      details: { location: 'path', path: 'version' },
    });
  if (row.pruned_at !== null)
    throw versionPruned(tombstone(row, row.pruned_at), { location: where, path: 'version' });
  return row;
}

async function connectionPrunedBelow(db: D1Database, orgId: string, connectionId: string): Promise<number> {
  const row = await db
    .prepare('SELECT policy_pruned_below FROM connections WHERE org_id = ? AND id = ?')
    .bind(orgId, connectionId)
    .first<{ policy_pruned_below: number }>();
  return row?.policy_pruned_below ?? 1;
}

function tombstone(row: PolicyDbRow, prunedAt: number): PolicyTombstone {
  return {
    version: row.version,
    rulesSha256: row.rules_sha256,
    createdBy: row.created_by,
    createdAt: row.created_at,
    prunedAt,
  };
}

export interface SimulationInput {
  tool: string;
  /** LLM calls: the model and endpoint, as the LLM adapter evaluates them. */
  model?: string | undefined;
  endpoint?: string | undefined;
  user?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** The call's arguments (`args.*` conditions). */
  args?: Record<string, unknown> | undefined;
  /** The tool's pinned annotations (`annotations.*` conditions). */
  annotations?: Partial<Record<string, boolean>> | undefined;
  /** Simulate a draft instead of the current version. */
  rules?: unknown[] | undefined;
}

export async function simulatePolicy(
  env: ConnectionEnv,
  principal: Principal,
  slug: string,
  input: SimulationInput,
) {
  const { policy, connection } = await getCurrentPolicy(env, principal, slug);
  const document = input.rules
    ? validatePolicy({ rules: input.rules })
    : validatePolicy({ rules: policy?.rules ?? [] });
  const compiled = compilePolicy(document, input.rules ? 0 : (policy?.version ?? 0));
  const { decision, trace } = explain(compiled, {
    tool: input.tool,
    model: input.model ?? null,
    endpoint: input.endpoint ?? null,
    user: input.user ?? null,
    metadata: input.metadata ?? null,
    args: input.args ?? null,
    annotations: input.annotations ?? null,
  });
  const warnings = argumentWarnings(document, await toolSchemas(env, principal.orgId, connection.id));
  return {
    decision: decision.action,
    matched: decision.matched,
    ruleIndex: decision.ruleIndex,
    reason: decision.reason,
    policyVersion: decision.policyVersion,
    trace,
    warnings,
  };
}
