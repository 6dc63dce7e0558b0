/**
 * The shadowing re-scan (docs/tool-integrity.md#poisoning-scan): a tool is scanned for shadowing
 * when it is new or changes — against the tools the organization's other connections have *then*.
 * When another connection later adds a look-alike, the existing tool's findings must learn of it
 * too: the recorder calls `rescanShadowing` for the organization after a recording that added or
 * changed tools, and `POST /api/v1/connections/{slug}/tools/rescan` runs it on demand.
 *
 * It recomputes only the name-based findings (shadowing, confusable_name, typosquat,
 * cross_tool_reference) of every current tool of the organization (at most RESCAN_CAP), keeps the
 * definition's own findings, and writes only the rows whose findings changed. Off the hot path.
 */
import { refreshedFindings } from './integrity.shadow';

/** Most tools of an organization re-scanned at once (name comparisons are quadratic in it). */
const RESCAN_CAP = 500;

interface ToolRow {
  id: string;
  connectionId: string;
  connectionSlug: string;
  name: string;
  definition: string | null;
  findings: string | null;
}

/**
 * Re-scans the organization's current tools for shadowing; returns how many rows changed.
 * `rows`: which connections' rows may be rewritten — `{ only }` one (the on-demand route),
 * `{ except }` all but one (the recorder, after that connection's tools changed).
 * `audit`: the on-demand route's record of the re-scan, given how many rows it changes — written in
 * the same batch (one transaction) as those rows, so the rows never change without it.
 */
export async function rescanShadowing(
  db: D1Database,
  orgId: string,
  rows: { only: string } | { except: string },
  audit?: (changed: number) => D1PreparedStatement,
): Promise<number> {
  const { results } = await db
    .prepare(
      `SELECT t.id AS id, t.connection_id AS connectionId, c.slug AS connectionSlug, t.name AS name,
              t.definition AS definition, t.findings AS findings
       FROM tool_inventory t JOIN connections c ON c.id = t.connection_id AND c.org_id = t.org_id
       WHERE t.org_id = ? AND t.kind = 'tool' AND t.removed = 0 ORDER BY t.first_seen LIMIT ${RESCAN_CAP}`,
    )
    .bind(orgId)
    .all<ToolRow>();
  const statements: D1PreparedStatement[] = [];
  for (const row of results) {
    if ('only' in rows ? row.connectionId !== rows.only : row.connectionId === rows.except) continue;
    const others = results
      .filter((o) => o.connectionId !== row.connectionId)
      .map((o) => ({ connectionSlug: o.connectionSlug, name: o.name }));
    const next = refreshedFindings(row, others);
    if (next === null) continue;
    statements.push(
      db
        .prepare('UPDATE tool_inventory SET findings = ? WHERE org_id = ? AND id = ?')
        .bind(JSON.stringify(next), orgId, row.id),
    );
  }
  const changed = statements.length;
  if (audit) statements.push(audit(changed));
  if (statements.length > 0) await db.batch(statements);
  return changed;
}
