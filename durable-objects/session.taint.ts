/**
 * Session taint and session facts (issue 22), kept by the ConnectionGuard in its own SQLite: which
 * labels each agent session of the connection has touched (`untrusted_input`, `private_data`…) and
 * which tools it called, so a rule's `cleanOf` or `session.touched` / `session.called` conditions
 * (session.gates.ts) can refuse a toxic flow — e.g. `send_email` after the session read an
 * untrusted page. Checked and updated inside admit(), in the same round trip as the kill switch
 * and rate windows.
 *
 * Bounded: a fact expires TAINT_TTL_MS after it was last recorded; a session holds at most
 * MAX_LABELS_PER_SESSION labels and MAX_CALLED_PER_SESSION distinct tool names (more calls of new
 * names are not recorded — a `session.called` glob still matches every name recorded before).
 * A called name is re-recorded (written) at most every CALLED_REFRESH_MS, so calling the same
 * tools again writes nothing.
 *
 * Per call: no `count(*)` and, for a session seen recently, no read at all — the facts of the
 * CACHED_SESSIONS most recently used sessions are held in memory (SQLite stays the durable copy,
 * written through, so an evicted or restarted guard reads the same facts back).
 *
 * Linked sessions (`TaintCheck.linked`: the caller sent an MCP session id or its own trace id):
 * what is newly recorded is also handed to `share`, which sends it to the organization's
 * agent-session store (session-facts.do.ts) off the call's path, for the session's calls on other
 * connections.
 */
import { WeightedMap } from '../workers/lib/bounded.map';
import type { SharedFacts, TaintCheck } from './guard.contract';
import { type Facts, type TaintHit, taintHit } from './session.gates';
import type { SqlLike } from './sql.types';

export const TAINT_TTL_MS = 24 * 60 * 60 * 1000;
const MAX_LABELS_PER_SESSION = 200;
export const MAX_CALLED_PER_SESSION = 200;
export const CALLED_REFRESH_MS = 60 * 60 * 1000;
/** Expired rows are swept at most this often (on an admit), not on every call. */
const SWEEP_EVERY_MS = 10 * 60 * 1000;
/** The sweep: facts recorded before its one parameter (indexed by time, so it reads only what it deletes). */
export const SWEEP_SQL = [
  'DELETE FROM session_taint WHERE added_at <= ?',
  'DELETE FROM session_called WHERE called_at <= ?',
] as const;
/**
 * Sessions whose facts are held in memory (most recently used first out of the way last). A
 * session's calls come back to the same guard, so its facts are read from SQLite once, not per
 * call; a session pushed out is read again on its next call.
 */
export const CACHED_SESSIONS = 1_000;
/**
 * And at most this many bytes of them: a session holds up to 200 labels (64 characters) and 200
 * called names (a governed name is up to 512 bytes, policy.methods.ts), ~250 KB, so 1,000 sessions
 * were ~250 MB in one guard — more than an object's memory, from one caller's many sessions.
 */
export const CACHED_SESSION_BYTES = 8 * 1024 * 1024;
/** A fact's weight: its text at two bytes a character, and its map entry. */
const factWeight = (text: string) => 64 + 2 * text.length;

/** Sends newly recorded facts of a linked session to the organization's store (never awaited by admit). */
export type ShareFacts = (orgId: string, session: string, facts: SharedFacts) => void;

interface SessionRows {
  /** label → added_at, exactly the session's rows (expired ones too, until the sweep deletes them). */
  labels: Map<string, number>;
  /** normalised tool name → called_at. */
  called: Map<string, number>;
  /** About the bytes the entry holds (factWeight of each fact, the session id): its cache weight. */
  bytes: number;
}

export class SessionTaint {
  readonly #sql: SqlLike;
  readonly #share: ShareFacts | null;
  #sweptAt = 0;
  /** A Map keeps insertion order: re-inserting on use makes it an LRU. Bounded by count and bytes. */
  readonly #cache = new WeightedMap<string, SessionRows>(CACHED_SESSIONS, CACHED_SESSION_BYTES);

  constructor(sql: SqlLike, share: ShareFacts | null = null) {
    this.#sql = sql;
    this.#share = share;
    sql.exec(`CREATE TABLE IF NOT EXISTS session_taint (
      session TEXT NOT NULL,
      label TEXT NOT NULL,
      added_at INTEGER NOT NULL,
      PRIMARY KEY (session, label)
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS session_called (
      session TEXT NOT NULL,
      tool TEXT NOT NULL,
      called_at INTEGER NOT NULL,
      PRIMARY KEY (session, tool)
    )`);
    // The sweep deletes by time: without these it read every fact of the last 24 hours each time.
    sql.exec('CREATE INDEX IF NOT EXISTS session_taint_added ON session_taint (added_at)');
    sql.exec('CREATE INDEX IF NOT EXISTS session_called_at ON session_called (called_at)');
  }

  /** The labels of the first `cleanOf` entry the session fully holds, or null when it is clean of all. */
  forbidden(check: TaintCheck, now: number): string[] | null {
    return this.verdict({ ...check, gates: [] }, now)?.held ?? null;
  }

  /** The gate or `cleanOf` entry that taints this call (session.gates.ts), or null. */
  verdict(check: TaintCheck, now: number): TaintHit | null {
    if (check.cleanOf.length === 0 && !check.gates?.length) return null;
    const rows = this.#rows(check.session);
    const since = now - TAINT_TTL_MS;
    const shared = check.shared;
    const sharedLabels = shared ? new Set(shared.labels) : null;
    const facts: Facts = {
      hasLabel: (label) =>
        (rows.labels.get(label) ?? Number.NEGATIVE_INFINITY) > since || sharedLabels?.has(label) === true,
      *called() {
        for (const [name, at] of rows.called) if (at > since) yield name;
        if (shared) yield* shared.called;
      },
    };
    return taintHit(check, facts);
  }

  /** The session's live facts (what the organization's store answers, session-facts.do.ts). */
  facts(session: string, now: number): SharedFacts {
    const rows = this.#rows(session);
    const since = now - TAINT_TTL_MS;
    const live = (entries: Map<string, number>) =>
      [...entries].filter(([, at]) => at > since).map(([k]) => k);
    return { labels: live(rows.labels), called: live(rows.called) };
  }

  /** Records what an admitted call added to its session (memory, and SQLite as the durable copy). */
  add(check: TaintCheck, now: number, orgId?: string): void {
    const called = check.called ?? [];
    if (check.add.length === 0 && called.length === 0) return;
    this.#sweep(now);
    const rows = this.#rows(check.session);
    const fresh: SharedFacts = { labels: [], called: [] };
    if (rows.labels.size < MAX_LABELS_PER_SESSION) {
      for (const label of check.add) {
        const before = rows.labels.get(label);
        if (before === undefined || now - before >= CALLED_REFRESH_MS) fresh.labels.push(label);
        if (before === undefined) rows.bytes += factWeight(label);
        rows.labels.set(label, now);
        this.#sql.exec(
          `INSERT INTO session_taint (session, label, added_at) VALUES (?, ?, ?)
           ON CONFLICT(session, label) DO UPDATE SET added_at = excluded.added_at`,
          check.session,
          label,
          now,
        );
      }
    }
    for (const name of called) {
      const before = rows.called.get(name);
      if (
        before !== undefined ? now - before < CALLED_REFRESH_MS : rows.called.size >= MAX_CALLED_PER_SESSION
      ) {
        continue;
      }
      fresh.called.push(name);
      if (before === undefined) rows.bytes += factWeight(name);
      rows.called.set(name, now);
      this.#sql.exec(
        `INSERT INTO session_called (session, tool, called_at) VALUES (?, ?, ?)
         ON CONFLICT(session, tool) DO UPDATE SET called_at = excluded.called_at`,
        check.session,
        name,
        now,
      );
    }
    // Weighed again with what it now holds (it is the newest entry: #rows just put it there).
    this.#cache.set(check.session, rows, rows.bytes);
    if (check.linked && orgId && this.#share && (fresh.labels.length > 0 || fresh.called.length > 0)) {
      this.#share(orgId, check.session, fresh);
    }
  }

  /** The session's rows, from memory or (first use, or pushed out of the cache) from SQLite. */
  #rows(session: string): SessionRows {
    let rows = this.#cache.get(session);
    if (!rows) {
      rows = { labels: new Map(), called: new Map(), bytes: 256 + 2 * session.length };
      for (const row of this.#sql
        .exec<{ label: string; added_at: number }>(
          'SELECT label, added_at FROM session_taint WHERE session = ?',
          session,
        )
        .toArray()) {
        rows.labels.set(row.label, row.added_at);
        rows.bytes += factWeight(row.label);
      }
      for (const row of this.#sql
        .exec<{ tool: string; called_at: number }>(
          'SELECT tool, called_at FROM session_called WHERE session = ?',
          session,
        )
        .toArray()) {
        rows.called.set(row.tool, row.called_at);
        rows.bytes += factWeight(row.tool);
      }
    }
    this.#cache.set(session, rows, rows.bytes);
    return rows;
  }

  #sweep(now: number): void {
    if (now - this.#sweptAt < SWEEP_EVERY_MS) return;
    this.#sweptAt = now;
    const since = now - TAINT_TTL_MS;
    for (const statement of SWEEP_SQL) this.#sql.exec(statement, since);
    // Weights are not lowered here (re-setting an entry while iterating would visit it again):
    // an entry weighs what it held at most, until it is read again from SQLite.
    for (const [session, rows] of this.#cache.entries()) {
      for (const [label, addedAt] of rows.labels) if (addedAt <= since) rows.labels.delete(label);
      for (const [name, calledAt] of rows.called) if (calledAt <= since) rows.called.delete(name);
      if (rows.labels.size === 0 && rows.called.size === 0) this.#cache.delete(session);
    }
  }
}
