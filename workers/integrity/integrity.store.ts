/**
 * The SQL of tool integrity: `tool_inventory` (current state per listed item) and `tool_versions`
 * (history), always scoped to the organization, and the hot-path state derived from them and
 * published to KV (integrity.state.ts).
 */
import { scanBlockFor } from '../scans/scans.suppress';
import { governedNameOf } from './integrity.fingerprint';
import { definitionOf, type InventoryRow } from './integrity.plan';
import type { OtherTool } from './integrity.scan';
import { publishIntegrity } from './integrity.state';
import { hintsOf, type IntegrityState } from './integrity.types';

const COLUMNS =
  'id, kind, name, fingerprint, version, definition, removed, quarantined, quarantine_reason, approved_fingerprint, approved_by, approved_at, findings, first_seen, last_seen';

export async function inventoryRows(
  db: D1Database,
  orgId: string,
  connectionId: string,
): Promise<InventoryRow[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM tool_inventory WHERE org_id = ? AND connection_id = ? ORDER BY kind, name`,
    )
    .bind(orgId, connectionId)
    .all<InventoryRow>();
  return results;
}

/** Most tools of other connections compared for shadowing. */
const OTHERS_CAP = 2000;

/** The current tools of the organization's other connections (for the shadowing scan). */
export async function otherConnectionTools(
  db: D1Database,
  orgId: string,
  connectionId: string,
): Promise<OtherTool[]> {
  const { results } = await db
    .prepare(
      `SELECT c.slug AS connectionSlug, t.name AS name FROM tool_inventory t JOIN connections c ON c.id = t.connection_id
       WHERE t.org_id = ? AND c.org_id = ? AND t.connection_id <> ? AND t.kind = 'tool' AND t.removed = 0 LIMIT ${OTHERS_CAP}`,
    )
    .bind(orgId, orgId, connectionId)
    .all<OtherTool>();
  return results;
}

/**
 * What the gateway needs per call, from the inventory: quarantined items (blocked), items whose
 * current fingerprint is the approved one (approved — the only ones fail_closed lets through), and
 * the annotations of each tool's approved definition (the pinned baseline policy rules read).
 * `pinned` holds the approved definitions of tools that changed since their approval (from
 * `tool_versions`); a tool's current definition is its approved one when the fingerprints agree.
 */
export function stateFromRows(
  rows: readonly InventoryRow[],
  pinned: ReadonlyMap<string, Record<string, unknown> | null> = new Map(),
): IntegrityState {
  const state: IntegrityState = { blocked: {}, approved: {}, annotations: {} };
  for (const row of rows) {
    const name = governedNameOf(row.kind, row.name);
    if (row.quarantined) state.blocked[name] = row.quarantine_reason ?? 'quarantined';
    const current = !row.removed && row.fingerprint !== null && row.fingerprint === row.approved_fingerprint;
    if (current) state.approved[name] = row.fingerprint!;
    if (row.kind !== 'tool' || row.removed || row.approved_fingerprint === null) continue;
    const definition = current ? definitionOf(row) : (pinned.get(pinnedKey(row)) ?? null);
    const hints = hintsOf(definition);
    if (hints !== null) state.annotations![name] = hints;
  }
  return state;
}

const pinnedKey = (row: Pick<InventoryRow, 'name' | 'approved_fingerprint'>) =>
  `${row.name}\u0000${row.approved_fingerprint}`;

/** The approved definitions of tools changed since their approval (one bounded query). */
async function pinnedDefinitions(
  db: D1Database,
  orgId: string,
  connectionId: string,
  rows: readonly InventoryRow[],
): Promise<Map<string, Record<string, unknown> | null>> {
  const drifted = rows.filter(
    (r) =>
      r.kind === 'tool' &&
      !r.removed &&
      r.approved_fingerprint !== null &&
      r.approved_fingerprint !== r.fingerprint,
  );
  const out = new Map<string, Record<string, unknown> | null>();
  if (drifted.length === 0) return out;
  const { results } = await db
    .prepare(
      `SELECT name, fingerprint AS approved_fingerprint, definition FROM tool_versions
       WHERE org_id = ? AND connection_id = ? AND kind = 'tool' AND fingerprint IN (SELECT value FROM json_each(?))`,
    )
    .bind(orgId, connectionId, JSON.stringify(drifted.map((r) => r.approved_fingerprint)))
    .all<{ name: string; approved_fingerprint: string; definition: string | null }>();
  for (const row of results) out.set(pinnedKey(row), definitionOf(row));
  return out;
}

/** Re-derives the connection's hot-path state from D1 and publishes it (after any change). */
export async function republishState(
  env: Pick<Env, 'DB' | 'POLICY_KV'>,
  orgId: string,
  connectionId: string,
): Promise<IntegrityState> {
  const rows = await inventoryRows(env.DB, orgId, connectionId);
  const [pinned, scanBlock] = await Promise.all([
    pinnedDefinitions(env.DB, orgId, connectionId, rows),
    scanBlockFor(env.DB, orgId, connectionId),
  ]);
  const state = { ...stateFromRows(rows, pinned), scanBlock };
  await publishIntegrity(env.POLICY_KV, orgId, connectionId, state);
  return state;
}

export type { InventoryRow } from './integrity.plan';
