/**
 * The SQL of tool integrity: `tool_inventory` (current state per listed item) and `tool_versions`
 * (history), always scoped to the organization, and the hot-path state derived from them and
 * published to KV (integrity.state.ts).
 */
import { governedNameOf } from './integrity.fingerprint';
import type { InventoryRow } from './integrity.plan';
import type { OtherTool } from './integrity.scan';
import { publishIntegrity } from './integrity.state';
import type { IntegrityState } from './integrity.types';

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
 * What the gateway needs per call, from the inventory: quarantined items (blocked), and items whose
 * current fingerprint is the approved one (approved — the only ones fail_closed lets through).
 */
export function stateFromRows(rows: readonly InventoryRow[]): IntegrityState {
  const state: IntegrityState = { blocked: {}, approved: {} };
  for (const row of rows) {
    const name = governedNameOf(row.kind, row.name);
    if (row.quarantined) state.blocked[name] = row.quarantine_reason ?? 'quarantined';
    if (!row.removed && row.fingerprint !== null && row.fingerprint === row.approved_fingerprint) {
      state.approved[name] = row.fingerprint;
    }
  }
  return state;
}

/** Re-derives the connection's hot-path state from D1 and publishes it (after any change). */
export async function republishState(
  env: Pick<Env, 'DB' | 'POLICY_KV'>,
  orgId: string,
  connectionId: string,
): Promise<IntegrityState> {
  const state = stateFromRows(await inventoryRows(env.DB, orgId, connectionId));
  await publishIntegrity(env.POLICY_KV, orgId, connectionId, state);
  return state;
}

export type { InventoryRow } from './integrity.plan';
