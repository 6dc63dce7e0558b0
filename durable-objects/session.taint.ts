/**
 * Session taint (issue 22), kept by the ConnectionGuard in its own SQLite: which labels each agent
 * session of the connection has touched (`untrusted_content`, `private_data`…), so a rule's
 * `cleanOf` can refuse a toxic flow — e.g. `send_email` after the session read an untrusted page.
 * Checked and updated inside admit(), in the same round trip as the kill switch and rate windows.
 *
 * Bounded: a session's labels expire TAINT_TTL_MS after they were last added, and a session
 * holds at most MAX_LABELS_PER_SESSION labels (more distinct labels than any policy names).
 */
import type { TaintCheck } from './guard.contract';

export const TAINT_TTL_MS = 24 * 60 * 60 * 1000;
const MAX_LABELS_PER_SESSION = 200;
/** Expired rows are swept at most this often (on an admit), not on every call. */
const SWEEP_EVERY_MS = 10 * 60 * 1000;

export class SessionTaint {
  readonly #sql: SqlStorage;
  #sweptAt = 0;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS session_taint (
      session TEXT NOT NULL,
      label TEXT NOT NULL,
      added_at INTEGER NOT NULL,
      PRIMARY KEY (session, label)
    )`);
  }

  /** The labels of the first `cleanOf` entry the session fully holds, or null when it is clean of all. */
  forbidden(check: TaintCheck, now: number): string[] | null {
    if (check.cleanOf.length === 0) return null;
    const held = this.#held(check.session, now);
    if (held.size === 0) return null;
    for (const entry of check.cleanOf) {
      if (entry.length > 0 && entry.every((label) => held.has(label))) return [...entry];
    }
    return null;
  }

  /** Records the labels an admitted call added to its session. */
  add(check: TaintCheck, now: number): void {
    if (check.add.length === 0) return;
    this.#sweep(now);
    const count = this.#sql
      .exec<{ n: number }>('SELECT count(*) AS n FROM session_taint WHERE session = ?', check.session)
      .one().n;
    if (count >= MAX_LABELS_PER_SESSION) return;
    for (const label of check.add) {
      this.#sql.exec(
        `INSERT INTO session_taint (session, label, added_at) VALUES (?, ?, ?)
         ON CONFLICT(session, label) DO UPDATE SET added_at = excluded.added_at`,
        check.session,
        label,
        now,
      );
    }
  }

  #held(session: string, now: number): Set<string> {
    const rows = this.#sql
      .exec<{ label: string }>(
        'SELECT label FROM session_taint WHERE session = ? AND added_at > ?',
        session,
        now - TAINT_TTL_MS,
      )
      .toArray();
    return new Set(rows.map((row) => row.label));
  }

  #sweep(now: number): void {
    if (now - this.#sweptAt < SWEEP_EVERY_MS) return;
    this.#sweptAt = now;
    this.#sql.exec('DELETE FROM session_taint WHERE added_at <= ?', now - TAINT_TTL_MS);
  }
}
