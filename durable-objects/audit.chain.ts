/**
 * The tamper-evident audit trail: every time a spool writes an audit row to D1 it also writes a
 * link of its hash chain, in the same D1 batch (one transaction: a row and its link exist together).
 *
 *   row_hash = SHA-256(JSON of the row exactly as bound to D1 — bindValues, every column in order)
 *   hash     = SHA-256(prev_hash | seq | event_id | row_hash), prev_hash of link 1 = GENESIS
 *
 * One chain per spool (`ConnectionGuard:<org>:<connection>`, `AuditSpool:<org>:<shard>`): a spool
 * writes its rows one flush at a time, so its links have a single order with no races. A row
 * written again (a late outcome or finding patches it) gets a new link; the newest link of a row is
 * the one its current content must match. `GET /api/v1/audit/verify` (workers/audit/audit.verify.ts)
 * recomputes everything and reports the first broken link: an edited, deleted or inserted row, or
 * a deleted, edited or reordered link.
 *
 * What it does not prove: rows written straight to D1 (admin and sign-in rows, which are written in
 * the transaction of the change they record; gateway rows written by the fail-open fallback when
 * a spool is unreachable) carry no link — verify lists gateway rows without one as `unchained`. An
 * attacker with write access to D1 *and* the time to recompute every later link can rewrite a
 * chain consistently: this detects edits, it does not sign them (no key outside D1 yet).
 */

import type { AuditEventInsert } from '../workers/db/schema';
import { sha256Hex } from '../workers/lib/hex.js';
import { rowsFromJson } from './audit.rows';

export const GENESIS = '0'.repeat(64);

/** The chain of one spool object: its class and name (`ConnectionGuard:<org>:<connection>`). */
export function chainName(className: string, ctx: Pick<DurableObjectState, 'id'>): string {
  return `${className}:${ctx.id.name ?? ctx.id.toString()}`;
}

export interface ChainLink {
  chain: string;
  seq: number;
  orgId: string | null;
  eventId: string;
  rowHash: string;
  prevHash: string;
  hash: string;
  createdAt: number;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

/** The hash of a row's D1 values (the bind values when written, the selected columns when verified). */
export function valuesHash(values: readonly unknown[]): Promise<string> {
  return sha256Hex(JSON.stringify(values));
}

export function linkHash(
  prevHash: string,
  seq: number,
  eventId: string,
  rowHashHex: string,
): Promise<string> {
  return sha256Hex(`${prevHash}|${seq}|${eventId}|${rowHashHex}`);
}

/** The link that follows `head` for a row (as written to D1: `values` is its valuesJson). */
export async function nextLink(
  chain: string,
  head: ChainHead,
  row: AuditEventInsert,
  values: string,
  now: number,
): Promise<ChainLink> {
  const seq = head.seq + 1;
  const rh = await sha256Hex(values);
  return {
    chain,
    seq,
    orgId: row.orgId ?? null,
    eventId: row.id,
    rowHash: rh,
    prevHash: head.hash,
    hash: await linkHash(head.hash, seq, row.id, rh),
    createdAt: now,
  };
}

/** Written with the row, in its batch. OR IGNORE: a batch retried after a crash rewrites the same link. */
export const INSERT_LINK_SQL = `INSERT OR IGNORE INTO audit_chain
  (chain, seq, org_id, event_id, row_hash, prev_hash, hash, created_at) ${rowsFromJson(8)}`;

export function linkValues(link: ChainLink): unknown[] {
  return [
    link.chain,
    link.seq,
    link.orgId,
    link.eventId,
    link.rowHash,
    link.prevHash,
    link.hash,
    link.createdAt,
  ];
}

/** The spool's chain head, kept in its SQLite beside the rows (advanced only after D1 took a batch). */
export class ChainHeadStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS chain_head (
      id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL)`);
  }

  get(): ChainHead {
    const row = this.#sql
      .exec<{ seq: number; hash: string }>('SELECT seq, hash FROM chain_head')
      .toArray()[0];
    return row ?? { seq: 0, hash: GENESIS };
  }

  set(head: ChainHead): void {
    this.#sql.exec(
      `INSERT INTO chain_head (id, seq, hash) VALUES (1, ?, ?)
       ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`,
      head.seq,
      head.hash,
    );
  }
}
