/**
 * Exact sliding rate windows, kept in the ConnectionGuard's SQLite.
 *
 * Every admitted call leaves one timestamp per window it was counted in (`rate_hits`). A window of
 * W seconds for key K at time `now` holds the calls with `now - W*1000 < ts <= now`; a call is
 * admitted while that count is below the limit, so the (limit+1)-th call inside any W-second span is
 * refused. No fixed buckets: the window slides with each call, and the counts survive eviction and
 * restarts because they are rows, not memory. One guard per connection serializes the connection's
 * calls, so every isolate sees the same count.
 *
 * Only admitted calls count: the decision for every window of a call is made first, and rows are
 * written only when all of them have room (a refused call, or one refused by another window, leaves
 * nothing behind to extend its own penalty).
 *
 * Clock: `now` is passed in (the guard passes `Date.now()`), which is what the unit tests inject.
 */
import type { SqlLike } from './sql.types.js';

export interface RateWindowCheck {
  ruleIndex: number;
  key: string;
  limit: number;
  windowSeconds: number;
}

export type RateOutcome =
  | { ok: true }
  | { ok: false; ruleIndex: number; limit: number; windowSeconds: number; retryAfterSeconds: number };

/**
 * Seconds until a call would be admitted again, given the timestamp of the counted call whose
 * leaving makes room: ceil, and never less than 1 (a `Retry-After: 0` invites a busy loop).
 */
export function retryAfterSeconds(leavingTs: number, windowSeconds: number, now: number): number {
  return Math.max(1, Math.ceil((leavingTs + windowSeconds * 1000 - now) / 1000));
}

export class RateWindows {
  readonly #sql: SqlLike;

  constructor(sql: SqlLike) {
    this.#sql = sql;
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS rate_hits (
      key TEXT NOT NULL,
      ts INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    )`);
    this.#sql.exec('CREATE INDEX IF NOT EXISTS rate_hits_key_ts ON rate_hits (key, ts)');
    this.#sql.exec('CREATE INDEX IF NOT EXISTS rate_hits_expires ON rate_hits (expires_at)');
  }

  /**
   * Decides a call against all of its windows and, only if every one has room, counts it in each.
   * Several checks with the same key (a batch calling one rule twice) need that many free places.
   * When more than one window is full, the answer names the one that frees up last, so a caller who
   * waits Retry-After is not refused again by another window.
   */
  admit(checks: RateWindowCheck[], now: number): RateOutcome {
    if (checks.length === 0) return { ok: true };
    const byKey = new Map<string, { check: RateWindowCheck; needed: number }>();
    for (const check of checks) {
      const entry = byKey.get(check.key);
      if (entry) entry.needed++;
      else byKey.set(check.key, { check, needed: 1 });
    }

    let refusal: Extract<RateOutcome, { ok: false }> | null = null;
    for (const { check, needed } of byKey.values()) {
      const since = now - check.windowSeconds * 1000;
      this.#sql.exec('DELETE FROM rate_hits WHERE key = ? AND ts <= ?', check.key, since);
      const count = this.count(check.key, check.windowSeconds, now);
      if (count + needed <= check.limit) continue;
      const retry = this.#retryAfter(check, count, needed, now);
      if (!refusal || retry > refusal.retryAfterSeconds) {
        refusal = {
          ok: false,
          ruleIndex: check.ruleIndex,
          limit: check.limit,
          windowSeconds: check.windowSeconds,
          retryAfterSeconds: retry,
        };
      }
    }
    if (refusal) return refusal;

    for (const { check, needed } of byKey.values()) {
      for (let i = 0; i < needed; i++) {
        this.#sql.exec(
          'INSERT INTO rate_hits (key, ts, expires_at) VALUES (?, ?, ?)',
          check.key,
          now,
          now + check.windowSeconds * 1000,
        );
      }
    }
    return { ok: true };
  }

  /** Calls counted in the window ending at `now` (a row stamped later, after a clock step back, still counts). */
  count(key: string, windowSeconds: number, now: number): number {
    return this.#sql
      .exec<{ n: number }>(
        'SELECT count(*) AS n FROM rate_hits WHERE key = ? AND ts > ?',
        key,
        now - windowSeconds * 1000,
      )
      .one().n;
  }

  /** Drops every row that has left its window (keys of old policy versions are never checked again). */
  prune(now: number): void {
    this.#sql.exec('DELETE FROM rate_hits WHERE expires_at <= ?', now);
  }

  /**
   * With `count` calls in the window and `needed` more wanted, room appears when the
   * (count + needed - limit)-th oldest counted call leaves. For a single call into a full window
   * that is the oldest one.
   */
  #retryAfter(check: RateWindowCheck, count: number, needed: number, now: number): number {
    if (needed > check.limit) return check.windowSeconds;
    const offset = Math.max(0, count + needed - check.limit - 1);
    const row = this.#sql
      .exec<{ ts: number }>(
        'SELECT ts FROM rate_hits WHERE key = ? AND ts > ? ORDER BY ts LIMIT 1 OFFSET ?',
        check.key,
        now - check.windowSeconds * 1000,
        offset,
      )
      .toArray()[0];
    return row ? retryAfterSeconds(row.ts, check.windowSeconds, now) : 1;
  }
}
