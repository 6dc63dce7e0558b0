/**
 * The alarm of an object that spools audit rows (audit.spool.ts): armed after writes, and the
 * flush it runs. Both objects that spool rows (ConnectionGuard, AuditSpool) use it.
 */
import { log } from '../workers/lib/log.js';
import { outcomeGraceMs, RETRY_DELAY_MS } from './audit.rows.js';
import { Spool } from './audit.spool.js';

/**
 * Owns a spool and its alarm for one Durable Object. Both objects that spool audit rows use it,
 * so the flush/retry schedule is written once.
 *
 * The object's one alarm belongs to the spool: an object that needs an alarm of its own must
 * schedule it through here rather than call setAlarm itself, or one would move the other's.
 */
export class SpoolScheduler {
  readonly spool: Spool;
  readonly #storage: DurableObjectStorage;
  readonly #db: D1Database;
  readonly #name: string;
  /**
   * The alarm this object has set, remembered so the hot path never awaits `getAlarm()`:
   * undefined until read once (a restarted object asks storage the first time), null when none is
   * set. Every alarm of the object goes through here (arm, armAt, onAlarm), so it stays true.
   */
  #alarmAt: number | null | undefined = undefined;

  /**
   * `env`: D1 and the configured outcome grace period; `chain`: the name of the spool's audit hash
   * chain (audit.chain.ts), unique per object.
   */
  constructor(
    storage: DurableObjectStorage,
    env: Pick<Env, 'DB' | 'AUDIT_OUTCOME_GRACE_SECONDS'>,
    name: string,
    chain: string | null = null,
  ) {
    this.spool = new Spool(storage.sql, chain, outcomeGraceMs(env.AUDIT_OUTCOME_GRACE_SECONDS));
    this.#storage = storage;
    this.#db = env.DB;
    this.#name = name;
  }

  /**
   * Call after writing to the spool: makes sure an alarm will flush it. O(1) on the hot path: it
   * only compares what was just written with the alarm already set.
   */
  async arm(): Promise<void> {
    const due = this.spool.takeDue();
    if (due !== null) await this.armAt(due);
  }

  /**
   * Makes sure the alarm fires at `at` or earlier (for an object's own work that shares the alarm).
   * Only a new, earlier time touches storage; the same turn's output gate holds the reply until it
   * is written, as with the spool row itself.
   */
  async armAt(at: number): Promise<void> {
    if (this.#alarmAt === undefined) {
      const stored = await this.#storage.getAlarm();
      // Another turn may have set one while this read was in flight: it is the newer truth.
      if (this.#alarmAt === undefined) this.#alarmAt = stored;
    }
    if (this.#alarmAt !== null && this.#alarmAt <= at) return;
    this.#alarmAt = at;
    await this.#storage.setAlarm(at);
  }

  /** The object's alarm handler delegates here. A failed flush is retried in 5 s, rows intact. */
  async onAlarm(): Promise<void> {
    // The alarm that fired is spent (the runtime clears it when the handler returns): from here
    // on, an arm() from a call that interleaves with the flush sets a new one.
    this.#alarmAt = null;
    this.spool.takeDue(); // the recount below covers whatever was written meanwhile
    let backlog = false;
    try {
      backlog = await this.spool.flush(this.#db);
    } catch (err) {
      log('error', 'audit flush failed; will retry', { object: this.#name, err });
      await this.#set(Date.now() + RETRY_DELAY_MS);
      return;
    }
    // Always set explicitly (not through armAt): the recount covers every dirty row, including
    // rows written during the flush, so its answer replaces whatever was set meanwhile.
    const next = backlog ? Date.now() : this.spool.nextFlushAt();
    if (next !== null) await this.#set(next);
  }

  async #set(at: number): Promise<void> {
    this.#alarmAt = at;
    await this.#storage.setAlarm(at);
  }
}
