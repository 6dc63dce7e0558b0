/**
 * `GET /api/v1/audit/verify`: recomputes an organization's audit hash chains
 * (durable-objects/audit.chain.ts) against what D1 holds now and reports the first broken link of
 * each chain. Reasons:
 *
 *   link_missing   a link's seq does not follow the previous one (a link was deleted)
 *   link_mismatch  a link's prev_hash is not the previous link's hash (links reordered or replaced)
 *   link_altered   a link's hash is not SHA-256(prev | seq | event | row_hash) (a link was edited)
 *   row_altered    a row's current content does not hash to its newest link's row_hash (row edited)
 *   row_missing    a chained row is gone, and retention cannot have removed it (row deleted)
 * and, apart: `unchained` gateway rows written after the chains began but with no link (a row
 * inserted in D1 by hand — or written by the fail-open fallback, docs/security-model.md).
 *
 * Retention removes the oldest rows and links of a chain together (workers/scheduled.ts): a chain
 * then starts at a later seq (its `anchor`), whose own prev_hash cannot be checked.
 *
 * Cost: one pass over the organization's links and rows, read in pages; meant for an auditor's
 * occasional check, not for every request.
 */

import { GENESIS, linkHash, valuesHash } from '../../durable-objects/audit.chain';
import { COLUMNS } from '../../durable-objects/audit.rows';
import type { Principal } from '../app.types';
import { forbidden, grantOf } from '../auth/permissions';
import { DEFAULT_RETENTION_DAYS, retentionDays } from '../scheduled';

const PAGE = 1000;
const ROWS_PER_QUERY = 50;
const DAY_MS = 86_400_000;
/** Gateway rows that a spool writes (and so must carry a link). */
const CHAINED_TYPES = ['tool_call', 'llm_call', 'anomaly', 'request'] as const;
const ID_INDEX = COLUMNS.findIndex(([column]) => column === 'id');

export type BreakReason = 'link_missing' | 'link_mismatch' | 'link_altered' | 'row_altered' | 'row_missing';

export interface ChainBreak {
  chain: string;
  seq: number;
  eventId: string;
  reason: BreakReason;
}

export interface VerifyReport {
  ok: boolean;
  chains: Array<{ chain: string; anchor: number; links: number; head: number; broken: ChainBreak | null }>;
  rowsChecked: number;
  firstBroken: ChainBreak | null;
  unchained: { count: number; eventIds: string[] };
}

interface LinkRow {
  seq: number;
  event_id: string;
  row_hash: string;
  prev_hash: string;
  hash: string;
  created_at: number;
}

export async function verifyAuditChain(
  env: Pick<Env, 'DB'>,
  principal: Principal,
  now = Date.now(),
): Promise<VerifyReport> {
  // The whole organization's trail: only members who read every connection's audit rows.
  if (grantOf(principal, 'audit:read') !== 'all') throw forbidden('audit:read', principal.role);
  const db = env.DB;
  const orgId = principal.orgId;
  const org = await db
    .prepare('SELECT settings FROM organizations WHERE id = ?')
    .bind(orgId)
    .first<{ settings: string | null }>();
  const days = org ? retentionDays(org.settings) : DEFAULT_RETENTION_DAYS;
  // Rows flushed before this could have been purged by retention (a day's margin for the cron).
  const expiredBefore = now - days * DAY_MS + DAY_MS;

  const chainNames = await db
    .prepare('SELECT DISTINCT chain FROM audit_chain WHERE org_id = ? ORDER BY chain')
    .bind(orgId)
    .all<{ chain: string }>();
  const report: VerifyReport = {
    ok: true,
    chains: [],
    rowsChecked: 0,
    firstBroken: null,
    unchained: { count: 0, eventIds: [] },
  };
  for (const { chain } of chainNames.results) {
    const result = await verifyChain(db, orgId, chain, expiredBefore);
    report.rowsChecked += result.rowsChecked;
    report.chains.push({
      chain,
      anchor: result.anchor,
      links: result.links,
      head: result.head,
      broken: result.broken,
    });
    if (result.broken && !report.firstBroken) report.firstBroken = result.broken;
  }
  report.unchained = await unchainedRows(db, orgId);
  report.ok = report.firstBroken === null && report.unchained.count === 0;
  return report;
}

async function verifyChain(db: D1Database, orgId: string, chain: string, expiredBefore: number) {
  let previous: LinkRow | null = null;
  let anchor = 0;
  let links = 0;
  let broken: ChainBreak | null = null;
  /** The newest link of each row: the one the row's current content must match. */
  const newest = new Map<string, LinkRow>();
  for (let after = 0; !broken; ) {
    const page = await db
      .prepare(
        `SELECT seq, event_id, row_hash, prev_hash, hash, created_at FROM audit_chain
         WHERE chain = ? AND org_id = ? AND seq > ? ORDER BY seq LIMIT ${PAGE}`,
      )
      .bind(chain, orgId, after)
      .all<LinkRow>();
    for (const link of page.results) {
      links++;
      const at = (reason: BreakReason): ChainBreak => ({
        chain,
        seq: link.seq,
        eventId: link.event_id,
        reason,
      });
      if (previous === null) {
        anchor = link.seq;
        if (link.seq === 1 && link.prev_hash !== GENESIS) broken = at('link_mismatch');
      } else if (link.seq !== previous.seq + 1) broken = at('link_missing');
      else if (link.prev_hash !== previous.hash) broken = at('link_mismatch');
      if (!broken && (await linkHash(link.prev_hash, link.seq, link.event_id, link.row_hash)) !== link.hash) {
        broken = at('link_altered');
      }
      if (broken) break;
      newest.set(link.event_id, link);
      previous = link;
    }
    if (page.results.length < PAGE) break;
    after = previous?.seq ?? after;
  }
  const rowsChecked = newest.size;
  if (!broken) broken = await checkRows(db, chain, [...newest.values()], expiredBefore);
  return { anchor, links, head: previous?.seq ?? 0, broken, rowsChecked };
}

/** Each row's current D1 content against its newest link; the break of lowest seq wins. */
async function checkRows(
  db: D1Database,
  chain: string,
  links: LinkRow[],
  expiredBefore: number,
): Promise<ChainBreak | null> {
  const columns = COLUMNS.map(([c]) => `"${c}"`).join(', ');
  let first: ChainBreak | null = null;
  for (let i = 0; i < links.length; i += ROWS_PER_QUERY) {
    const chunk = links.slice(i, i + ROWS_PER_QUERY);
    const rows = await db
      .prepare(`SELECT ${columns} FROM audit_events WHERE id IN (${chunk.map(() => '?').join(', ')})`)
      .bind(...chunk.map((l) => l.event_id))
      .raw();
    const byId = new Map(rows.map((values) => [values[ID_INDEX] as string, values]));
    for (const link of chunk) {
      const values = byId.get(link.event_id);
      let reason: BreakReason | null = null;
      if (!values) reason = link.created_at < expiredBefore ? null : 'row_missing';
      else if ((await valuesHash(values)) !== link.row_hash) reason = 'row_altered';
      if (reason && (!first || link.seq < first.seq))
        first = { chain, seq: link.seq, eventId: link.event_id, reason };
    }
  }
  return first;
}

/** Gateway rows written since the organization's chains began that carry no link. */
async function unchainedRows(db: D1Database, orgId: string): Promise<VerifyReport['unchained']> {
  const types = CHAINED_TYPES.map(() => '?').join(', ');
  const where = `e.org_id = ? AND e.type IN (${types})
    AND e.created_at >= (SELECT min(created_at) FROM audit_chain WHERE org_id = ?)
    AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_id = e.id)`;
  const binds = [orgId, ...CHAINED_TYPES, orgId];
  const [count, sample] = await db.batch<{ n?: number; id?: string }>([
    db.prepare(`SELECT count(*) AS n FROM audit_events e WHERE ${where}`).bind(...binds),
    db
      .prepare(`SELECT e.id AS id FROM audit_events e WHERE ${where} ORDER BY e.created_at, e.id LIMIT 20`)
      .bind(...binds),
  ]);
  return {
    count: count?.results[0]?.n ?? 0,
    eventIds: (sample?.results ?? []).map((r) => r.id!),
  };
}
