/**
 * The live state of a connection's agent session inside its ConnectionGuard, and its copy in D1.
 *
 * The guard counts every request of the session (whatever the verdict) and remembers the last
 * MCP session id, API key and user it saw, in SQLite (one row, survives eviction). The D1
 * `agent_sessions` row is the record the API lists; the guard upserts it from its alarm (the same
 * alarm that flushes the audit spool), never on the hot path. Status is not the guard's to write:
 * it follows the kill switches (see workers/sessions/sessions.service.ts).
 *
 * The same flush keeps `connections.last_used_at` (the dashboard's "Last activity") current: it
 * rides in the flush's D1 batch (no extra round trip, never on the hot path) and is written at
 * most once per LAST_USED_RESOLUTION_MS per connection, so the value lags the last call by less
 * than that.
 */
import type { SessionState } from './guard.contract';
import type { KillCaller } from './kill.match';

type SessionRow = {
  org_id: string;
  connection_id: string;
  session_id: string;
  mcp_session_id: string | null;
  api_key_id: string | null;
  user: string | null;
  call_count: number;
  first_seen_at: number;
  last_seen_at: number;
  dirty: number;
};

/**
 * Inserts only while the connection exists (a deleted connection's guard must not recreate a row
 * that the foreign key would refuse); never touches status or the suspension reason.
 */
const UPSERT_SQL = `INSERT INTO agent_sessions
  (id, org_id, connection_id, status, mcp_session_id, api_key_id, user, call_count, last_seen_at, created_at, updated_at)
SELECT ?1, ?2, ?3, 'active', ?4, ?5, ?6, ?7, ?8, ?9, ?10
WHERE EXISTS (SELECT 1 FROM connections WHERE id = ?3 AND org_id = ?2)
ON CONFLICT(id) DO UPDATE SET
  mcp_session_id = coalesce(excluded.mcp_session_id, agent_sessions.mcp_session_id),
  api_key_id = coalesce(excluded.api_key_id, agent_sessions.api_key_id),
  user = coalesce(excluded.user, agent_sessions.user),
  call_count = max(excluded.call_count, agent_sessions.call_count),
  last_seen_at = max(excluded.last_seen_at, coalesce(agent_sessions.last_seen_at, 0)),
  updated_at = excluded.updated_at`;

/** `connections.last_used_at` is rewritten at most this often per connection (as for API keys). */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** Never moves the column backwards (a stale guard flushing late cannot undo a newer value). */
const TOUCH_CONNECTION_SQL = `UPDATE connections SET last_used_at = max(coalesce(last_used_at, 0), ?1)
WHERE id = ?2 AND org_id = ?3`;

export class SessionRecord {
  readonly #sql: SqlStorage;
  #state: SessionState | null = null;
  #dirty = false;
  /** The last `last_used_at` this object wrote (memory only: after an eviction it writes once more). */
  #touchedAt: number | null = null;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS session (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      org_id TEXT NOT NULL,
      connection_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      mcp_session_id TEXT,
      api_key_id TEXT,
      user TEXT,
      call_count INTEGER NOT NULL,
      first_seen_at INTEGER NOT NULL,
      last_seen_at INTEGER NOT NULL,
      dirty INTEGER NOT NULL
    )`);
    const row = sql.exec<SessionRow>('SELECT * FROM session WHERE id = 1').toArray()[0];
    if (row) {
      this.#state = {
        orgId: row.org_id,
        connectionId: row.connection_id,
        sessionId: row.session_id,
        mcpSessionId: row.mcp_session_id,
        apiKeyId: row.api_key_id,
        user: row.user,
        callCount: row.call_count,
        firstSeenAt: row.first_seen_at,
        lastSeenAt: row.last_seen_at,
      };
      this.#dirty = row.dirty === 1;
    }
  }

  snapshot(): SessionState | null {
    return this.#state ? { ...this.#state } : null;
  }

  /** One request of the session. Identity fields keep their last non-null value. */
  seen(
    ids: { orgId: string; connectionId: string; sessionId: string },
    caller: KillCaller & { mcpSessionId: string | null },
    now: number,
  ): void {
    const prev = this.#state;
    this.#state = {
      ...ids,
      mcpSessionId: caller.mcpSessionId ?? prev?.mcpSessionId ?? null,
      apiKeyId: caller.apiKeyId ?? prev?.apiKeyId ?? null,
      user: caller.user ?? prev?.user ?? null,
      callCount: (prev?.callCount ?? 0) + 1,
      firstSeenAt: prev?.firstSeenAt ?? now,
      lastSeenAt: now,
    };
    this.#dirty = true;
    const s = this.#state;
    this.#sql.exec(
      `INSERT INTO session (id, org_id, connection_id, session_id, mcp_session_id, api_key_id, user, call_count,
         first_seen_at, last_seen_at, dirty)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
       ON CONFLICT(id) DO UPDATE SET mcp_session_id = excluded.mcp_session_id, api_key_id = excluded.api_key_id,
         user = excluded.user, call_count = excluded.call_count, last_seen_at = excluded.last_seen_at, dirty = 1`,
      s.orgId,
      s.connectionId,
      s.sessionId,
      s.mcpSessionId,
      s.apiKeyId,
      s.user,
      s.callCount,
      s.firstSeenAt,
      s.lastSeenAt,
    );
  }

  /** Copies the state to D1 if it changed. Throws on a D1 error (the caller retries later). */
  async flush(db: D1Database, now = Date.now()): Promise<void> {
    const s = this.#state;
    if (!s || !this.#dirty) return;
    const statements = [
      db
        .prepare(UPSERT_SQL)
        .bind(
          s.sessionId,
          s.orgId,
          s.connectionId,
          s.mcpSessionId,
          s.apiKeyId,
          s.user,
          s.callCount,
          s.lastSeenAt,
          s.firstSeenAt,
          now,
        ),
    ];
    const touch = this.#touchedAt === null || s.lastSeenAt - this.#touchedAt >= LAST_USED_RESOLUTION_MS;
    if (touch) statements.push(db.prepare(TOUCH_CONNECTION_SQL).bind(s.lastSeenAt, s.connectionId, s.orgId));
    await db.batch(statements);
    if (touch) this.#touchedAt = s.lastSeenAt;
    // Calls that arrived while D1 was answering keep the row dirty for the next alarm.
    if (this.#state?.callCount === s.callCount) {
      this.#dirty = false;
      this.#sql.exec('UPDATE session SET dirty = 0 WHERE id = 1 AND call_count = ?', s.callCount);
    }
  }

  get dirty(): boolean {
    return this.#dirty;
  }
}
