/**
 * Session taint (issue 22), kept by the ConnectionGuard in its own SQLite: which labels each agent
 * session of the connection has touched (`untrusted_content`, `private_data`…), so a rule's
 * `cleanOf` can refuse a toxic flow — e.g. `send_email` after the session read an untrusted page.
 * Checked and updated inside admit(), in the same round trip as the kill switch and rate windows.
 *
 * Bounded: a session's labels expire TAINT_TTL_MS after they were last added, and a session
 * holds at most MAX_LABELS_PER_SESSION labels (more distinct labels than any policy names).
 *
 * Per call: no `count(*)` and, for a session seen recently, no read at all — the labels of the
 * CACHED_SESSIONS most recently used sessions are held in memory (SQLite stays the durable copy,
 * written through on every add, so an evicted or restarted guard reads the same labels back).
 */
import type { TaintCheck } from './guard.contract';
import type { SqlLike } from './sql.types';

export const TAINT_TTL_MS = 24 * 60 * 60 * 1000;
const MAX_LABELS_PER_SESSION = 200;
/** Expired rows are swept at most this often (on an admit), not on every call. */
const SWEEP_EVERY_MS = 10 * 60 * 1000;
/**
 * Sessions whose labels are held in memory (most recently used first out of the way last). A
 * session's calls come back to the same guard, so its labels are read from SQLite once, not per
 * call; a session pushed out is read again on its next call.
 */
export const CACHED_SESSIONS = 1_000;

export class SessionTaint {
  readonly #sql: SqlLike;
  #sweptAt = 0;
  /**
   * label → added_at per session, exactly the session's rows (expired ones too, until the sweep
   * deletes them from both). A Map keeps insertion order: re-inserting on use makes it an LRU.
   */
  readonly #cache = new Map<string, Map<string, number>>();

  constructor(sql: SqlLike) {
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
    const labels = this.#labels(check.session);
    if (labels.size === 0) return null;
    const since = now - TAINT_TTL_MS;
    const held = (label: string) => (labels.get(label) ?? Number.NEGATIVE_INFINITY) > since;
    for (const entry of check.cleanOf) {
      if (entry.length > 0 && entry.every(held)) return [...entry];
    }
    return null;
  }

  /** Records the labels an admitted call added to its session (memory, and SQLite as the durable copy). */
  add(check: TaintCheck, now: number): void {
    if (check.add.length === 0) return;
    this.#sweep(now);
    const labels = this.#labels(check.session);
    if (labels.size >= MAX_LABELS_PER_SESSION) return;
    for (const label of check.add) {
      labels.set(label, now);
      this.#sql.exec(
        `INSERT INTO session_taint (session, label, added_at) VALUES (?, ?, ?)
         ON CONFLICT(session, label) DO UPDATE SET added_at = excluded.added_at`,
        check.session,
        label,
        now,
      );
    }
  }

  /** The session's rows, from memory or (first use, or pushed out of the cache) from SQLite. */
  #labels(session: string): Map<string, number> {
    let labels = this.#cache.get(session);
    if (labels) {
      this.#cache.delete(session);
    } else {
      labels = new Map();
      for (const row of this.#sql
        .exec<{ label: string; added_at: number }>(
          'SELECT label, added_at FROM session_taint WHERE session = ?',
          session,
        )
        .toArray()) {
        labels.set(row.label, row.added_at);
      }
      if (this.#cache.size >= CACHED_SESSIONS) {
        const oldest = this.#cache.keys().next().value;
        if (oldest !== undefined) this.#cache.delete(oldest);
      }
    }
    this.#cache.set(session, labels);
    return labels;
  }

  #sweep(now: number): void {
    if (now - this.#sweptAt < SWEEP_EVERY_MS) return;
    this.#sweptAt = now;
    const since = now - TAINT_TTL_MS;
    this.#sql.exec('DELETE FROM session_taint WHERE added_at <= ?', since);
    for (const [session, labels] of this.#cache) {
      for (const [label, addedAt] of labels) if (addedAt <= since) labels.delete(label);
      if (labels.size === 0) this.#cache.delete(session);
    }
  }
}
