/**
 * The gateway-minted server-request ids (workers/gateway/mcp.server-ids.ts) the clients of one
 * connection have answered or cancelled: what makes each one answerable once, across isolates.
 *
 * Why the guard: a response is a call like any other, so it reaches its guard once anyway; the
 * ids a body answers ride on that admit (AdmitRequest.tasks.answers) and are checked and recorded
 * in the same round trip, serialized with every other call of the connection — two copies of one
 * response POSTed at once through two isolates cannot both pass. A call that answers nothing sends
 * no `answers` and this store is not touched (its cost there is one `undefined` check).
 *
 * Check (before the rate windows): an id already recorded, or named twice in one body, refuses the
 * call (`response_refused`, reason `answered`). Record: only once the call is admitted — a response
 * the policy, DLP or a rate window refused is not spent, and the client may answer again.
 *
 * Bound: each record is kept until its id expires (the id's issue time + SERVER_ID_LIFETIME_MS,
 * sent by the gateway, + CLOCK_SKEW_MS for the clocks of the gateway's isolates): past that the
 * gateway refuses the id as expired before it asks, so forgetting it reopens nothing. Pruned by the
 * guard's alarm through an index on expiry. At most MAX_ANSWERED per connection: at the cap (after
 * pruning the expired) a response is refused (reason `full`) — fail closed, never an answer that
 * could not be recorded as spent. Only the server's requests to a caller can be answered by that
 * caller, so filling the record takes MAX_ANSWERED server requests within an hour.
 */
import type { AdmitRequest } from './guard.contract';
import type { SqlLike } from './sql.types';

/** Answered ids kept per connection (guard); beyond them a response is refused. */
export const MAX_ANSWERED = 100_000;
/** Kept this long past an id's expiry: the clocks of two isolates may differ by up to this. */
const SKEW_MS = 60_000;
/** Rows deleted per prune (each alarm), oldest first. */
const PRUNE_BATCH = 500;

export type AnswerRefusal = 'answered' | 'full';

export class AnsweredIds {
  readonly #sql: SqlLike;
  readonly #cap: number;
  #count: number | null = null;

  /** `cap`: MAX_ANSWERED, smaller only in tests. */
  constructor(sql: SqlLike, cap = MAX_ANSWERED) {
    this.#sql = sql;
    this.#cap = cap;
    sql.exec(`CREATE TABLE IF NOT EXISTS answered_ids (
      id_key TEXT PRIMARY KEY,
      expires_at INTEGER NOT NULL
    )`);
    sql.exec('CREATE INDEX IF NOT EXISTS answered_ids_expiry ON answered_ids (expires_at)');
  }

  /** Why the call's answers (AdmitRequest.tasks.answers) are refused; null when they may pass. */
  refusal(request: Pick<AdmitRequest, 'tasks' | 'final'>, now: number): AnswerRefusal | null {
    const answers = request.final ? undefined : request.tasks?.answers;
    if (!answers?.length) return null;
    const keys = new Set(answers.map((a) => a.key));
    if (keys.size < answers.length) return 'answered';
    for (const key of keys) {
      const row = this.#sql.exec('SELECT 1 AS x FROM answered_ids WHERE id_key = ?', key).toArray();
      if (row.length > 0) return 'answered';
    }
    if (this.#held() + keys.size > this.#cap) this.prune(now);
    return this.#held() + keys.size > this.#cap ? 'full' : null;
  }

  /** Records the answers of an admitted call (checked by `refusal` in the same admit). */
  record(request: Pick<AdmitRequest, 'tasks' | 'final'>): void {
    const answers = request.final ? undefined : request.tasks?.answers;
    for (const { key, expiresAt } of answers ?? []) {
      const added = this.#sql
        .exec(
          `INSERT INTO answered_ids (id_key, expires_at) VALUES (?, ?)
             ON CONFLICT (id_key) DO NOTHING RETURNING id_key`,
          key,
          expiresAt + SKEW_MS,
        )
        .toArray().length;
      // Not counted yet: the first #held() counts the table, this row included (adding it here
      // too would count it twice and refuse as `full` early).
      if (this.#count !== null) this.#count += added;
    }
  }

  /** Deletes expired records, oldest first, through the index on expiry. */
  prune(now: number): void {
    const deleted = this.#sql
      .exec(
        `DELETE FROM answered_ids WHERE id_key IN
           (SELECT id_key FROM answered_ids WHERE expires_at <= ? ORDER BY expires_at LIMIT ?) RETURNING id_key`,
        now,
        PRUNE_BATCH,
      )
      .toArray().length;
    if (this.#count !== null) this.#count = Math.max(0, this.#count - deleted);
  }

  #held(): number {
    this.#count ??= this.#sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM answered_ids').one().n;
    return this.#count;
  }
}
