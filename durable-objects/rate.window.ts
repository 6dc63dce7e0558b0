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
 * Token windows (an LLM rule's `tokenLimit`, checks with `unit: 'tokens'`) live beside them in
 * `rate_tokens`: one weighted row per completed call — its actual tokens, stamped when its usage was
 * known (`recordTokens`, from the guard's `complete`). A call cannot know its tokens before it runs,
 * so admit refuses only once the tokens already recorded in the window reach the limit (TPM-style:
 * the call that crosses the limit is admitted, the next one is not), and it never records anything
 * for the call itself. Recording is idempotent per (window key, call): a repeated outcome does not
 * count twice. Each window is summed over a covering index range, and pruned like `rate_hits`.
 *
 * Clock: `now` is passed in (the guard passes `Date.now()`), which is what the unit tests inject.
 */
import type { SqlLike } from './sql.types.js';

export interface RateWindowCheck {
  ruleIndex: number;
  key: string;
  limit: number;
  windowSeconds: number;
  /** `requests` (default): the call counts 1. `tokens`: the window sums recorded tokens. */
  unit?: 'requests' | 'tokens' | undefined;
}

type Refusal = Extract<RateOutcome, { ok: false }>;

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
    // A table of its own (not a weight column on rate_hits): guards already holding rate_hits need
    // no migration, and a rule's request and token windows may share a key without mixing.
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS rate_tokens (
      key TEXT NOT NULL,
      event_id TEXT NOT NULL,
      ts INTEGER NOT NULL,
      tokens INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    )`);
    this.#sql.exec('CREATE UNIQUE INDEX IF NOT EXISTS rate_tokens_event ON rate_tokens (key, event_id)');
    this.#sql.exec('CREATE INDEX IF NOT EXISTS rate_tokens_key_ts ON rate_tokens (key, ts, tokens)');
    this.#sql.exec('CREATE INDEX IF NOT EXISTS rate_tokens_expires ON rate_tokens (expires_at)');
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
    const tokenChecks = new Map<string, RateWindowCheck>();
    for (const check of checks) {
      if (check.unit === 'tokens') {
        if (!tokenChecks.has(check.key)) tokenChecks.set(check.key, check);
        continue;
      }
      const entry = byKey.get(check.key);
      if (entry) entry.needed++;
      else byKey.set(check.key, { check, needed: 1 });
    }

    let refusal: Refusal | null = null;
    for (const check of tokenChecks.values()) refusal = later(refusal, this.#tokenRefusal(check, now));
    for (const { check, needed } of byKey.values()) {
      const since = now - check.windowSeconds * 1000;
      this.#sql.exec('DELETE FROM rate_hits WHERE key = ? AND ts <= ?', check.key, since);
      const count = this.count(check.key, check.windowSeconds, now);
      if (count + needed <= check.limit) continue;
      refusal = later(refusal, refusalOf(check, this.#retryAfter(check, count, needed, now)));
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

  /**
   * Adds a completed call's actual tokens to each of its token windows (checks of other units are
   * ignored; a key listed twice counts once). Idempotent per (key, eventId). Nothing is recorded
   * for a count that is not a positive number.
   */
  recordTokens(eventId: string, checks: readonly RateWindowCheck[], used: number, now: number): void {
    if (!Number.isFinite(used) || used <= 0) return;
    const tokens = Math.ceil(used);
    for (const check of checks) {
      if (check.unit !== 'tokens') continue;
      this.#sql.exec(
        'INSERT OR IGNORE INTO rate_tokens (key, event_id, ts, tokens, expires_at) VALUES (?, ?, ?, ?, ?)',
        check.key,
        eventId,
        now,
        tokens,
        now + check.windowSeconds * 1000,
      );
    }
  }

  /** Tokens recorded in the window ending at `now`. */
  tokens(key: string, windowSeconds: number, now: number): number {
    return this.#sql
      .exec<{ n: number }>(
        'SELECT coalesce(sum(tokens), 0) AS n FROM rate_tokens WHERE key = ? AND ts > ?',
        key,
        now - windowSeconds * 1000,
      )
      .one().n;
  }

  /** Drops every row that has left its window (keys of old policy versions are never checked again). */
  prune(now: number): void {
    this.#sql.exec('DELETE FROM rate_hits WHERE expires_at <= ?', now);
    this.#sql.exec('DELETE FROM rate_tokens WHERE expires_at <= ?', now);
  }

  /** A token window refuses while its recorded tokens are at or over the limit. */
  #tokenRefusal(check: RateWindowCheck, now: number): Refusal | null {
    const since = now - check.windowSeconds * 1000;
    this.#sql.exec('DELETE FROM rate_tokens WHERE key = ? AND ts <= ?', check.key, since);
    const used = this.tokens(check.key, check.windowSeconds, now);
    if (used < check.limit) return null;
    // Room appears when the oldest rows whose tokens bring the sum below the limit have left:
    // the first row (oldest first) at which the running total exceeds `used - limit`.
    const row = this.#sql
      .exec<{ ts: number }>(
        `SELECT ts FROM (
           SELECT ts, sum(tokens) OVER (ORDER BY ts, rowid ROWS UNBOUNDED PRECEDING) AS running
           FROM rate_tokens WHERE key = ? AND ts > ?
         ) WHERE running > ? ORDER BY running LIMIT 1`,
        check.key,
        since,
        used - check.limit,
      )
      .toArray()[0];
    return refusalOf(check, row ? retryAfterSeconds(row.ts, check.windowSeconds, now) : 1);
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

function refusalOf(check: RateWindowCheck, retry: number): Refusal {
  return {
    ok: false,
    ruleIndex: check.ruleIndex,
    limit: check.limit,
    windowSeconds: check.windowSeconds,
    retryAfterSeconds: retry,
  };
}

/** Of two refusals, the one that frees up last (so waiting Retry-After is enough for every window). */
function later(current: Refusal | null, next: Refusal | null): Refusal | null {
  if (!next) return current;
  return !current || next.retryAfterSeconds > current.retryAfterSeconds ? next : current;
}
