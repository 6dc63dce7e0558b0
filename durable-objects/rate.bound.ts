/**
 * How many rate windows a ConnectionGuard holds, and who made each one (rate.window.ts asks here
 * before it creates a window).
 *
 * A window is keyed by what its rule's `by` names for the call, and `user` (`X-Igris-User`) and
 * `metadata.<key>` are whatever the key holder sends: a caller that sends a fresh value on every
 * call would otherwise make one window per call, each kept (memory and SQLite) until its calls
 * leave it — the guard's storage grows with the caller's traffic, not with its users.
 *
 * So every window has an owner — who made the call that created it, as authenticated (rateOwner):
 * its API key, or for a caller without one (an OAuth access token) the member it acts as — and:
 *   - one owner may hold at most MAX_WINDOWS_PER_CALLER windows in a guard;
 *   - the guard holds at most MAX_WINDOWS_PER_GUARD windows, whoever made them.
 * A call whose window does not exist yet, when its owner (or the guard) is at the bound, is counted
 * in its owner's OVERFLOW window for that rule instead: one window per (rule, owner), with the
 * rule's own limit and length, shared by every value that came in over the bound. So flooding
 * distinct users is no way around a limit (fail closed: the new values are counted — together —,
 * never let through uncounted), and is no way to refuse anyone else: the flooder's overflow window
 * is its own, another key (or member) keeps its own quota, and windows that already exist (users
 * already counted) are untouched. (Key-less callers once shared one owner, `(none)`: one of them at
 * the bound sent every other's new users into the same overflow window.) Refusing outright at the
 * bound was the alternative; it would turn a full guard into a denial of service for every new user
 * of every key, where an overflow window only makes the over-the-bound users of the key that filled
 * it share one limit.
 *
 * Overflow windows are not counted against either bound (they are the answer at the bound): there
 * are at most (rules with a window × live policy versions) per owner, and owners are the
 * organization's API keys and members — made by its admins, never by a caller's traffic.
 * Their keys start with `ovf:`, which no key the gateway builds does (`v…` or `tok:v…`, gateway.rates.ts),
 * so no `X-Igris-User` can name one.
 *
 * A window stops counting when the alarm's prune finds it empty (rate.window.ts prune): until then
 * an owner at the bound stays there even if its windows' calls have all left them.
 *
 * Durable: `rate_window_owners` (key → owner), written when a window is created and deleted by its
 * primary key when prune empties it (so a prune reads only what it deletes), read back when the
 * guard starts. A window read back with no owner row (written before this table
 * existed) belongs to LEGACY_OWNER: counted against the guard's bound, nobody's quota.
 */
import type { SqlLike } from './sql.types.js';

/**
 * Windows one API key may create in one guard (each distinct user / metadata value is one per rule):
 * room for a backend key that speaks for thousands of end users within one window. Past it, its
 * further new users share one window per rule — a key serving more distinct users than this inside
 * a rule's window should be split into several keys.
 */
export const MAX_WINDOWS_PER_CALLER = 5_000;
/** Windows one guard holds, all owners together (memory: ~400 bytes each plus its calls, ~8 MB). */
export const MAX_WINDOWS_PER_GUARD = 20_000;

/** The owner of a key-less call with no actor (a guard called by an older Worker). */
export const NO_OWNER = '(none)';
export const LEGACY_OWNER = '(earlier)';
const OVERFLOW_PREFIX = 'ovf:';

export interface WindowCaps {
  perCaller: number;
  perGuard: number;
}

export const DEFAULT_WINDOW_CAPS: WindowCaps = {
  perCaller: MAX_WINDOWS_PER_CALLER,
  perGuard: MAX_WINDOWS_PER_GUARD,
};

/**
 * The overflow window of `key`'s rule for `owner`: the key up to its `=` (the kind, policy version,
 * rule index and `by`, which holds no `=`: policy.fields.ts isRateLimitKey), under the owner.
 */
export function overflowKey(key: string, owner: string): string {
  const at = key.indexOf('=');
  return `${OVERFLOW_PREFIX}${owner}:${at < 0 ? key : key.slice(0, at)}`;
}

export function isOverflowKey(key: string): boolean {
  return key.startsWith(OVERFLOW_PREFIX);
}

/**
 * Whose quota a call's new windows take: its API key's id (as windows were always recorded, so
 * those already held keep counting), else its actor — `user:<id>`, the member an OAuth access
 * token acts as, from the authenticated principal (no key id holds a `:`, so the two never meet).
 * Never `user` (X-Igris-User): a caller writes it, and could spread its windows over many owners.
 */
export function rateOwner(caller: { apiKeyId: string | null; actor?: string | null | undefined }): string {
  return caller.apiKeyId ?? caller.actor ?? NO_OWNER;
}

export class WindowQuota {
  readonly #sql: SqlLike;
  readonly #caps: WindowCaps;
  /** Owner of every live window (overflow ones included, so prune can forget them). */
  readonly #owners = new Map<string, string>();
  /** Windows counted against each owner's bound (overflow windows are not). */
  readonly #perOwner = new Map<string, number>();
  /** Windows counted against the guard's bound. */
  #total = 0;

  constructor(sql: SqlLike, caps: WindowCaps = DEFAULT_WINDOW_CAPS) {
    this.#sql = sql;
    this.#caps = caps;
    this.#sql.exec(`CREATE TABLE IF NOT EXISTS rate_window_owners (
      key TEXT PRIMARY KEY,
      owner TEXT NOT NULL
    )`);
  }

  /** Windows counted against the guard's bound (tests and observability). */
  get size(): number {
    return this.#total;
  }

  /** Windows counted against `owner`'s bound. */
  heldBy(owner: string): number {
    return this.#perOwner.get(owner) ?? 0;
  }

  /** The durable owners, for the windows the guard read back when it started. */
  loadOwners(): Map<string, string> {
    const rows = this.#sql
      .exec<{ key: string; owner: string }>('SELECT key, owner FROM rate_window_owners')
      .toArray();
    return new Map(rows.map((row) => [row.key, row.owner]));
  }

  /** A window read back at start (no SQL write: its owner row, if any, is already there). */
  restore(key: string, owner: string | undefined): void {
    if (this.#owners.has(key)) return;
    this.#count(key, owner ?? LEGACY_OWNER);
  }

  /**
   * Whether `owner` may create `extra` more windows now (besides those it already holds): false at
   * either bound, and the call's new window is then its overflow window.
   */
  hasRoom(owner: string, extra: number): boolean {
    return this.heldBy(owner) + extra < this.#caps.perCaller && this.#total + extra < this.#caps.perGuard;
  }

  /** Records a window just created (memory and SQLite). */
  created(key: string, owner: string): void {
    if (this.#owners.has(key)) return;
    this.#count(key, owner);
    this.#sql.exec('INSERT OR IGNORE INTO rate_window_owners (key, owner) VALUES (?, ?)', key, owner);
  }

  /** Forgets a window that prune emptied, in memory and in SQLite. */
  released(key: string): void {
    const owner = this.#owners.get(key);
    if (owner === undefined) return;
    this.#owners.delete(key);
    this.#sql.exec('DELETE FROM rate_window_owners WHERE key = ?', key);
    if (isOverflowKey(key)) return;
    this.#total--;
    const held = (this.#perOwner.get(owner) ?? 1) - 1;
    if (held > 0) this.#perOwner.set(owner, held);
    else this.#perOwner.delete(owner);
  }

  #count(key: string, owner: string): void {
    this.#owners.set(key, owner);
    if (isOverflowKey(key)) return;
    this.#total++;
    this.#perOwner.set(owner, (this.#perOwner.get(owner) ?? 0) + 1);
  }
}
