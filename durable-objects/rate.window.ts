/**
 * Exact sliding rate windows, decided in the ConnectionGuard's memory and kept in its SQLite.
 *
 * Every admitted call leaves one timestamp per window it was counted in. A window of W seconds for
 * key K at time `now` holds the calls with `now - W*1000 < ts <= now`; a call is admitted while that
 * count is below the limit, so the (limit+1)-th call inside any W-second span is refused. No fixed
 * buckets: the window slides with each call. One guard per connection serializes the connection's
 * calls, so every isolate sees the same count.
 *
 * Cost per call: O(1) amortised. Each key's timestamps are held in memory oldest first
 * (rate.queue.ts), so a check drops the calls that left the window from the head and compares the
 * size with the limit — no `count(*)` over the window. A key holds at most `limit` live calls.
 * SQLite is the durable copy: each admitted call is one INSERT (`rate_hits`), read back once when
 * the object starts (eviction, restart), so counts survive both. Rows that left their window are
 * deleted by `prune()`, which the guard runs from its alarm (also what frees the keys of old policy
 * versions in memory); an expired row read back at start is dropped by the first check of its key.
 *
 * Only admitted calls count: the decision for every window of a call is made first, and entries are
 * written only when all of them have room (a refused call, or one refused by another window, leaves
 * nothing behind to extend its own penalty).
 *
 * Token windows (an LLM rule's `tokenLimit`, checks with `unit: 'tokens'`) live beside them in
 * `rate_tokens`: one weighted entry per completed call — its actual tokens, stamped when its usage
 * was known (`recordTokens`, from the guard's `complete`). A call cannot know its tokens before it
 * runs, so admit refuses only once the tokens already recorded in the window reach the limit
 * (TPM-style: the call that crosses the limit is admitted, the next one is not), and it never
 * records anything for the call itself. Recording is idempotent per (window key, call): a repeated
 * outcome does not count twice. The running sum is kept with the queue, so a check is O(1) too.
 *
 * How many windows: a key is whatever the rule's `by` names, `X-Igris-User` included, so windows are
 * bounded per owner — the calling API key, or a key-less caller's member — and per guard
 * (rate.bound.ts); a call whose new window would cross a bound is counted in its owner's overflow
 * window for that rule instead.
 *
 * Clock: `now` is passed in (the guard passes `Date.now()`), which is what the unit tests inject.
 */
import { DEFAULT_WINDOW_CAPS, NO_OWNER, overflowKey, type WindowCaps, WindowQuota } from './rate.bound.js';
import { RateQueue } from './rate.queue.js';
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
  /** Request windows: per key, the admitted calls still held (memory; `rate_hits` is the durable copy). */
  readonly #hits = new Map<string, Window>();
  /** Token windows: per key, the recorded completions (memory; `rate_tokens` is the durable copy). */
  readonly #tokens = new Map<string, Window>();
  /** Who created each window, and the bounds on how many there are (rate.bound.ts). */
  readonly #quota: WindowQuota;

  constructor(sql: SqlLike, caps: WindowCaps = DEFAULT_WINDOW_CAPS) {
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
    this.#quota = new WindowQuota(sql, caps);
    this.#load();
  }

  /**
   * Decides a call against all of its windows and, only if every one has room, counts it in each.
   * Several checks with the same key (a batch calling one rule twice) need that many free places.
   * When more than one window is full, the answer names the one that frees up last, so a caller who
   * waits Retry-After is not refused again by another window.
   * `caller`: whose quota a new window takes (rate.bound.ts rateOwner; null: `(none)`).
   */
  admit(requested: RateWindowCheck[], now: number, caller: string | null = null): RateOutcome {
    if (requested.length === 0) return { ok: true };
    const owner = caller ?? NO_OWNER;
    const checks = this.#bounded(requested, owner);
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
      const queue = this.#hits.get(check.key)?.queue;
      if (!queue) {
        if (needed > check.limit) refusal = later(refusal, refusalOf(check, check.windowSeconds));
        continue;
      }
      queue.dropThrough(now - check.windowSeconds * 1000);
      if (queue.size + needed <= check.limit) continue;
      refusal = later(refusal, refusalOf(check, this.#retryAfter(check, queue, needed, now)));
    }
    if (refusal) return refusal;

    for (const { check, needed } of byKey.values()) {
      const window = this.#windowOf(this.#hits, check, owner);
      const expiresAt = now + check.windowSeconds * 1000;
      for (let i = 0; i < needed; i++) {
        window.queue.insert(now);
        this.#sql.exec(
          'INSERT INTO rate_hits (key, ts, expires_at) VALUES (?, ?, ?)',
          check.key,
          now,
          expiresAt,
        );
      }
    }
    return { ok: true };
  }

  /** Calls counted in the window ending at `now` (a call stamped later, after a clock step back, still counts). */
  count(key: string, windowSeconds: number, now: number): number {
    return this.#hits.get(key)?.queue.after(now - windowSeconds * 1000).count ?? 0;
  }

  /**
   * Adds a completed call's actual tokens to each of its token windows (checks of other units are
   * ignored; a key listed twice counts once). Idempotent per (key, eventId). Nothing is recorded
   * for a count that is not a positive number. `caller`: the call's owner, as at admit — a key
   * with no window yet goes to its overflow window when the owner is at its bound, as admit's did.
   */
  recordTokens(
    eventId: string,
    checks: readonly RateWindowCheck[],
    used: number,
    now: number,
    caller: string | null = null,
  ): void {
    if (!Number.isFinite(used) || used <= 0) return;
    const owner = caller ?? NO_OWNER;
    const tokens = Math.ceil(used);
    for (const requested of checks) {
      if (requested.unit !== 'tokens') continue;
      const check = this.#bounded([requested], owner)[0]!;
      const window = this.#windowOf(this.#tokens, check, owner);
      if (window.queue.has(eventId)) continue;
      window.queue.insert(now, tokens, eventId);
      // An upsert, not INSERT OR IGNORE: a row of the same call that already left the window in
      // memory (not yet pruned here) is replaced, so memory and SQLite hold the same entries.
      this.#sql.exec(
        `INSERT INTO rate_tokens (key, event_id, ts, tokens, expires_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(key, event_id) DO UPDATE SET ts = excluded.ts, tokens = excluded.tokens,
           expires_at = excluded.expires_at`,
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
    return this.#tokens.get(key)?.queue.after(now - windowSeconds * 1000).total ?? 0;
  }

  /**
   * Drops every entry that has left its window, in SQLite and in memory (keys of old policy
   * versions are never checked again, so this is what frees them). Called from the guard's alarm.
   */
  prune(now: number): void {
    this.#sql.exec('DELETE FROM rate_hits WHERE expires_at <= ?', now);
    this.#sql.exec('DELETE FROM rate_tokens WHERE expires_at <= ?', now);
    for (const windows of [this.#hits, this.#tokens]) {
      for (const [key, window] of windows) {
        window.queue.dropThrough(now - window.windowMs);
        if (window.queue.size > 0) continue;
        windows.delete(key);
        this.#quota.released(key);
      }
    }
  }

  /** Windows held against the guard's bound, and against one owner's (rate.bound.ts). */
  windowCount(owner?: string): number {
    return owner === undefined ? this.#quota.size : this.#quota.heldBy(owner);
  }

  /**
   * The checks with each key that has no window yet, when `owner` may not create one more (its
   * bound or the guard's), replaced by the owner's overflow window of that rule (rate.bound.ts).
   * Token checks create nothing at admit, so they take no place; they are redirected all the same,
   * so a flooder's new values are checked against the tokens their overflow window holds.
   */
  #bounded(checks: readonly RateWindowCheck[], owner: string): RateWindowCheck[] {
    const creating = new Set<string>();
    return checks.map((check) => {
      const windows = check.unit === 'tokens' ? this.#tokens : this.#hits;
      if (windows.has(check.key) || creating.has(check.key)) return check;
      if (this.#quota.hasRoom(owner, creating.size)) {
        if (check.unit !== 'tokens') creating.add(check.key);
        return check;
      }
      return { ...check, key: overflowKey(check.key, owner) };
    });
  }

  /** The check's window, created (and recorded as `owner`'s) if it has none. */
  #windowOf(windows: Map<string, Window>, check: RateWindowCheck, owner: string): Window {
    if (!windows.has(check.key)) this.#quota.created(check.key, owner);
    return loaded(windows, check.key, check.windowSeconds * 1000, check.unit === 'tokens');
  }

  /** Reads the durable copy into memory once, when the object starts (eviction, restart, deploy). */
  #load(): void {
    const hits = this.#sql
      .exec<{ key: string; ts: number; expires_at: number }>(
        'SELECT key, ts, expires_at FROM rate_hits ORDER BY key, ts',
      )
      .toArray();
    for (const row of hits) loaded(this.#hits, row.key, row.expires_at - row.ts, false).queue.insert(row.ts);
    const tokens = this.#sql
      .exec<{ key: string; event_id: string; ts: number; tokens: number; expires_at: number }>(
        'SELECT key, event_id, ts, tokens, expires_at FROM rate_tokens ORDER BY key, ts, rowid',
      )
      .toArray();
    for (const row of tokens) {
      loaded(this.#tokens, row.key, row.expires_at - row.ts, true).queue.insert(
        row.ts,
        row.tokens,
        row.event_id,
      );
    }
    const owners = this.#quota.loadOwners();
    for (const windows of [this.#hits, this.#tokens]) {
      for (const key of windows.keys()) this.#quota.restore(key, owners.get(key));
    }
  }

  /** A token window refuses while its recorded tokens are at or over the limit. */
  #tokenRefusal(check: RateWindowCheck, now: number): Refusal | null {
    const queue = this.#tokens.get(check.key)?.queue;
    if (!queue) return null;
    queue.dropThrough(now - check.windowSeconds * 1000);
    const used = queue.total;
    if (used < check.limit) return null;
    // Room appears when the oldest entries whose tokens bring the sum below the limit have left:
    // the first entry (oldest first) at which the running total exceeds `used - limit`. Only a
    // refusal walks the window, and the walk stops there.
    let running = 0;
    for (let i = 0; i < queue.size; i++) {
      running += queue.weightAt(i);
      if (running > used - check.limit) {
        return refusalOf(check, retryAfterSeconds(queue.tsAt(i), check.windowSeconds, now));
      }
    }
    return refusalOf(check, 1);
  }

  /**
   * With `held` calls in the window and `needed` more wanted, room appears when the
   * (held + needed - limit)-th oldest counted call leaves. For a single call into a full window
   * that is the oldest one.
   */
  #retryAfter(check: RateWindowCheck, queue: RateQueue, needed: number, now: number): number {
    if (needed > check.limit) return check.windowSeconds;
    const offset = Math.max(0, queue.size + needed - check.limit - 1);
    return offset < queue.size ? retryAfterSeconds(queue.tsAt(offset), check.windowSeconds, now) : 1;
  }
}

/** One key's window in memory, and its length (for pruning a key no call checks any more). */
interface Window {
  queue: RateQueue;
  windowMs: number;
}

function loaded(windows: Map<string, Window>, key: string, windowMs: number, weighted: boolean): Window {
  let window = windows.get(key);
  if (!window) {
    window = { queue: new RateQueue(weighted), windowMs };
    windows.set(key, window);
  } else if (windowMs > window.windowMs) {
    window.windowMs = windowMs;
  }
  return window;
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
