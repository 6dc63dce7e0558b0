/**
 * One guard's record of who owns what: the store behind task owners (task.owners.ts) and A2A
 * context owners (context.owners.ts). Both are the same table in the guard's SQLite storage —
 * a key, its owner (taskOwner's encoding of a caller), its last use — with the same rules:
 *   - the first claim wins: a live record of anyone keeps its owner;
 *   - a record is live for OWNER_TTL_MS after its last use, and a use refreshes it at most every
 *     TOUCH_MS (a polling caller writes nothing);
 *   - expired records are pruned PRUNE_BATCH at a time by the guard's alarm, through an index on time;
 *   - at most `cap` records, counted once per activation and then kept by every insert and delete
 *     (a COUNT reads every row).
 * They differ only in what a full store does, and what a claim of an existing record means — the
 * store's policy (OwnerPolicy), chosen by the record's meaning:
 *   - tasks (`refuse`): a full store records no new task, which is then refused to everyone (fail
 *     closed); a task is claimed once, by its creation, so a later claim of it changes nothing.
 *   - contexts (`evict`): a full store evicts its least recently used record (why: context.owners.ts);
 *     a claim is a use, so it refreshes the claimer's own record and takes over an expired one.
 */
import { log } from '../workers/lib/log';
import type { SqlLike } from './sql.types';

/** How long a record stays live after its last use through the gateway. */
export const OWNER_TTL_MS = 30 * 24 * 3_600_000;
/** A record's last use is rewritten at most this often. */
export const TOUCH_MS = 3_600_000;
/** Rows deleted per prune (each alarm), oldest first. */
const PRUNE_BATCH = 500;

export interface OwnerPolicy {
  /** Table name (also the prefix of its indexes); a constant of the caller, never input. */
  table: string;
  /** The key column's name; likewise a constant. */
  key: string;
  cap: number;
  /** `refuse`: a new record beyond the cap is not made (logged). `evict`: the least recently used goes. */
  atCap: 'refuse' | 'evict';
  /** Also index (owner, used_at): the store lists an owner's records (tasks: ListTasks). */
  byOwner?: boolean;
  /** What the log calls a record. */
  noun: string;
}

interface Row {
  owner: string;
  used_at: number;
}

export class OwnerStore {
  readonly #sql: SqlLike;
  readonly #p: OwnerPolicy;
  #count: number | null = null;

  constructor(sql: SqlLike, policy: OwnerPolicy) {
    this.#sql = sql;
    this.#p = policy;
    const { table, key } = policy;
    sql.exec(`CREATE TABLE IF NOT EXISTS ${table} (
      ${key} TEXT PRIMARY KEY,
      owner TEXT NOT NULL,
      used_at INTEGER NOT NULL
    )`);
    sql.exec(`CREATE INDEX IF NOT EXISTS ${table}_used ON ${table} (used_at)`);
    if (policy.byOwner) sql.exec(`CREATE INDEX IF NOT EXISTS ${table}_owner ON ${table} (owner, used_at)`);
  }

  /** The records of the keys, in order (undefined where there is none, expired or not). */
  rows(keys: readonly string[]): (Row | undefined)[] {
    const { table, key } = this.#p;
    return keys.map(
      (k) =>
        this.#sql
          .exec<Row & Record<string, number | string>>(
            `SELECT owner, used_at FROM ${table} WHERE ${key} = ?`,
            k,
          )
          .toArray()[0],
    );
  }

  live(row: Row | undefined, now: number): row is Row {
    return row !== undefined && now - row.used_at < OWNER_TTL_MS;
  }

  /** Refreshes the live records among `rows` (of `keys`) whose last use is TOUCH_MS old or more. */
  touch(keys: readonly string[], rows: readonly (Row | undefined)[], now: number): void {
    keys.forEach((k, i) => {
      const row = rows[i];
      if (this.live(row, now) && now - row.used_at >= TOUCH_MS) this.#setUse(k, now);
    });
  }

  /** Records the keys as `owner`'s: the first claim wins (see the file comment for the policy). */
  claim(keys: readonly string[], owner: string, now: number): void {
    if (this.#p.atCap === 'refuse') {
      this.#claimOrRefuse(keys, owner, now);
      return;
    }
    const rows = this.rows(keys);
    keys.forEach((k, i) => {
      const row = rows[i];
      if (!row) this.#insert(k, owner, now);
      else if (!this.live(row, now))
        this.#setUse(k, now, owner); // expired: its claimer owns it
      else if (row.owner === owner && now - row.used_at >= TOUCH_MS) this.#setUse(k, now);
    });
    this.#held();
    if (this.#count! > this.#p.cap) this.#delete('', this.#count! - this.#p.cap);
  }

  /** The owner's live keys (those starting with `prefix`, if given), most recently used first, at most `limit`. */
  keysOf(owner: string, now: number, limit: number, prefix = ''): string[] {
    const { table, key } = this.#p;
    return this.#sql
      .exec<Record<string, string>>(
        `SELECT ${key} AS k FROM ${table} WHERE owner = ? AND used_at > ? AND substr(${key}, 1, ?) = ?
           ORDER BY used_at DESC LIMIT ?`,
        owner,
        now - OWNER_TTL_MS,
        prefix.length,
        prefix,
        limit,
      )
      .toArray()
      .map((row) => row.k!);
  }

  /** Deletes expired records, oldest first, through the index on time (reads only what it deletes). */
  prune(now: number): void {
    this.#delete('WHERE used_at <= ?', now - OWNER_TTL_MS, PRUNE_BATCH);
  }

  /** `refuse`: a record is made once; at the cap (after pruning the expired) none is made. */
  #claimOrRefuse(keys: readonly string[], owner: string, now: number): void {
    for (const k of keys) {
      if (this.#held() >= this.#p.cap) this.prune(now);
      if (this.#held() >= this.#p.cap) {
        log('warn', `${this.#p.noun} owner records full; not recorded (refused to every caller)`, {
          held: this.#count,
        });
        return;
      }
      const { table, key } = this.#p;
      const added = this.#sql
        .exec(
          `INSERT INTO ${table} (${key}, owner, used_at) VALUES (?, ?, ?)
             ON CONFLICT (${key}) DO NOTHING RETURNING ${key}`,
          k,
          owner,
          now,
        )
        .toArray().length;
      this.#count = this.#held() + added;
    }
  }

  #insert(k: string, owner: string, now: number): void {
    const { table, key } = this.#p;
    this.#sql.exec(`INSERT INTO ${table} (${key}, owner, used_at) VALUES (?, ?, ?)`, k, owner, now);
    if (this.#count !== null) this.#count++;
  }

  #setUse(k: string, now: number, owner?: string): void {
    const { table, key } = this.#p;
    if (owner === undefined) this.#sql.exec(`UPDATE ${table} SET used_at = ? WHERE ${key} = ?`, now, k);
    else this.#sql.exec(`UPDATE ${table} SET owner = ?, used_at = ? WHERE ${key} = ?`, owner, now, k);
  }

  #held(): number {
    this.#count ??= this.#sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${this.#p.table}`).one().n;
    return this.#count;
  }

  /** Deletes up to `limit` rows matching `where`, least recently used first, and keeps the count. */
  #delete(where: string, ...bindings: unknown[]): void {
    const { table, key } = this.#p;
    const deleted = this.#sql
      .exec(
        `DELETE FROM ${table} WHERE ${key} IN
           (SELECT ${key} FROM ${table} ${where} ORDER BY used_at LIMIT ?) RETURNING ${key}`,
        ...bindings,
      )
      .toArray().length;
    if (this.#count !== null) this.#count = Math.max(0, this.#count - deleted);
  }
}
