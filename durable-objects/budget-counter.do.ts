/**
 * BudgetCounter — the counters of ONE budget (`budget:<budgetId>`, do.client.ts `budgetCounterFor`):
 * the current period's spent total, the reservations in flight, and the history of closed periods.
 * Contract and concurrency argument: budget.contract.ts. Every RPC method is synchronous over the
 * object's SQLite storage (no await between reading and booking), so two reservations can never
 * both see the same headroom.
 *
 * The period rolls over by itself: an alarm at the period's end closes it (history row, spent back
 * to zero) whether or not any call arrives — no cron. The same alarm drops reservations older than
 * RESERVATION_TTL_MS (a call whose settle never came: its isolate died mid-stream).
 *
 * Failure mode is the caller's (workers/budgets/budget.gate.ts): the connection's `failMode`.
 */
import { DurableObject } from 'cloudflare:workers';
import { budgetPeriod } from '../workers/shared/budget.period';
import {
  type BudgetConfig,
  type BudgetSnapshot,
  type PeriodRecord,
  RESERVATION_TTL_MS,
  type ReserveRequest,
  type ReserveResult,
  type SettleRequest,
  type SettleResult,
} from './budget.contract';

/** Flags of the state's `warned` column: the period's warning and its limit, each raised once. */
const WARNED = 1;
const EXCEEDED = 2;

interface StateRow extends Record<string, SqlStorageValue> {
  config: string;
  period_start: number;
  period_end: number;
  /** Start of what the next history row covers: the period's start, or the last manual reset. */
  segment_start: number;
  spent: number;
  warned: number;
}

const round = (usd: number) => Math.round(usd * 1e10) / 1e10;

/** Drops the reservations that expired by its one parameter (their calls never settled). */
export const EXPIRE_RESERVATIONS_SQL = 'DELETE FROM reservations WHERE expires_at <= ?';

export class BudgetCounter extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1),
      config TEXT NOT NULL, period_start INTEGER NOT NULL, period_end INTEGER NOT NULL,
      segment_start INTEGER NOT NULL, spent REAL NOT NULL, warned INTEGER NOT NULL)`);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS reservations (id TEXT PRIMARY KEY,
      amount REAL NOT NULL, expires_at INTEGER NOT NULL)`);
    // Expiry (the alarm's delete, the next alarm's MIN) reads only what it needs.
    ctx.storage.sql.exec('CREATE INDEX IF NOT EXISTS reservations_expires ON reservations (expires_at)');
    // One row per closed stretch: a whole period (`period_end`) or the part before a manual reset.
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS periods (id INTEGER PRIMARY KEY AUTOINCREMENT,
      period_start INTEGER NOT NULL, period_end INTEGER NOT NULL, spent REAL NOT NULL, closed_by TEXT NOT NULL)`);
  }

  /** Books `amountUsd` unless a `block` budget would pass its limit. */
  reserve(request: ReserveRequest): ReserveResult {
    const state = this.#state(request.config);
    const now = Date.now();
    const reserved = this.#reserved();
    const after = state.spent + reserved + request.amountUsd;
    const overLimit = after > request.config.limitUsd;
    if (overLimit && request.config.enforcement === 'block') {
      // The first refusal of a period is its limit event (a block budget never spends past it).
      const exceeded = (state.warned & EXCEEDED) === 0;
      if (exceeded)
        this.ctx.storage.sql.exec('UPDATE state SET warned = ? WHERE id = 1', state.warned | EXCEEDED);
      return { admitted: false, overLimit, snapshot: this.#snapshot(request.config), exceeded };
    }
    this.ctx.storage.sql.exec(
      'INSERT OR REPLACE INTO reservations (id, amount, expires_at) VALUES (?, ?, ?)',
      request.reservationId,
      Math.max(0, request.amountUsd),
      now + RESERVATION_TTL_MS,
    );
    this.#schedule();
    return { admitted: true, overLimit, snapshot: this.#snapshot(request.config) };
  }

  /** Replaces a reservation with the call's actual cost (a missing reservation still charges). */
  settle(request: SettleRequest): SettleResult {
    const state = this.#state(request.config);
    this.ctx.storage.sql.exec('DELETE FROM reservations WHERE id = ?', request.reservationId);
    const spent = round(state.spent + Math.max(0, request.actualUsd));
    const threshold = (request.config.limitUsd * request.config.warnAtPercent) / 100;
    // `warned` holds two flags, each set once per period: WARNED (threshold) and EXCEEDED (limit).
    const warn = (state.warned & WARNED) === 0 && spent >= threshold;
    const exceeded = (state.warned & EXCEEDED) === 0 && spent >= request.config.limitUsd;
    this.ctx.storage.sql.exec(
      'UPDATE state SET spent = ?, warned = ? WHERE id = 1',
      spent,
      state.warned | (warn ? WARNED : 0) | (exceeded ? EXCEEDED : 0),
    );
    return { snapshot: this.#snapshot(request.config), warn, exceeded };
  }

  /** Drops a reservation without charging (the call was refused after reserving). */
  release(config: BudgetConfig, reservationId: string): void {
    this.#state(config);
    this.ctx.storage.sql.exec('DELETE FROM reservations WHERE id = ?', reservationId);
  }

  status(config: BudgetConfig): BudgetSnapshot {
    return this.#snapshot(config);
  }

  /** Manual reset: closes the period so far (history `manual`), spent and the warning back to zero. */
  reset(config: BudgetConfig): BudgetSnapshot {
    const state = this.#state(config);
    const now = Date.now();
    this.#close(state, now, 'manual');
    this.ctx.storage.sql.exec('UPDATE state SET spent = 0, warned = 0, segment_start = ? WHERE id = 1', now);
    return this.#snapshot(config);
  }

  history(config: BudgetConfig, limit = 12): PeriodRecord[] {
    this.#state(config);
    return this.ctx.storage.sql
      .exec<{ period_start: number; period_end: number; spent: number; closed_by: string }>(
        'SELECT period_start, period_end, spent, closed_by FROM periods ORDER BY id DESC LIMIT ?',
        limit,
      )
      .toArray()
      .map((r) => ({
        periodStart: r.period_start,
        periodEnd: r.period_end,
        spentUsd: r.spent,
        closedBy: r.closed_by === 'manual' ? 'manual' : 'period_end',
      }));
  }

  override async alarm(): Promise<void> {
    const row = this.#row();
    if (!row) return;
    this.#state(JSON.parse(row.config) as BudgetConfig);
    this.ctx.storage.sql.exec(EXPIRE_RESERVATIONS_SQL, Date.now());
    this.#schedule();
  }

  #row(): StateRow | null {
    return this.ctx.storage.sql.exec<StateRow>('SELECT * FROM state WHERE id = 1').toArray()[0] ?? null;
  }

  /** The current state, the config stored and the period rolled over when its end has passed. */
  #state(config: BudgetConfig): StateRow {
    const now = Date.now();
    let row = this.#row();
    const period = budgetPeriod(now, config.resetDay, config.timezone);
    if (!row) {
      this.ctx.storage.sql.exec(
        `INSERT INTO state (id, config, period_start, period_end, segment_start, spent, warned)
         VALUES (1, ?, ?, ?, ?, 0, 0)`,
        JSON.stringify(config),
        period.start,
        period.end,
        period.start,
      );
      this.#schedule();
      return this.#row()!;
    }
    if (row.period_end <= now || row.period_start > now) {
      if (row.period_end <= now) this.#close(row, row.period_end, 'period_end');
      this.ctx.storage.sql.exec(
        'UPDATE state SET period_start = ?, period_end = ?, segment_start = ?, spent = 0, warned = 0 WHERE id = 1',
        period.start,
        period.end,
        period.start,
      );
      this.#schedule();
    }
    this.ctx.storage.sql.exec('UPDATE state SET config = ? WHERE id = 1', JSON.stringify(config));
    row = this.#row()!;
    return row;
  }

  #close(row: StateRow, end: number, closedBy: PeriodRecord['closedBy']): void {
    this.ctx.storage.sql.exec(
      'INSERT INTO periods (period_start, period_end, spent, closed_by) VALUES (?, ?, ?, ?)',
      row.segment_start,
      end,
      row.spent,
      closedBy,
    );
  }

  #reserved(): number {
    const r = this.ctx.storage.sql
      .exec<{ total: number | null; n: number }>(
        'SELECT SUM(amount) AS total, COUNT(*) AS n FROM reservations',
      )
      .one();
    return r.total ?? 0;
  }

  #snapshot(config: BudgetConfig): BudgetSnapshot {
    const row = this.#state(config);
    const r = this.ctx.storage.sql
      .exec<{ total: number | null; n: number }>(
        'SELECT SUM(amount) AS total, COUNT(*) AS n FROM reservations',
      )
      .one();
    const reserved = round(r.total ?? 0);
    return {
      budgetId: config.budgetId,
      limitUsd: config.limitUsd,
      spentUsd: round(row.spent),
      reservedUsd: reserved,
      inFlight: r.n,
      remainingUsd: round(Math.max(0, config.limitUsd - row.spent - reserved)),
      percent: config.limitUsd > 0 ? Math.round((row.spent / config.limitUsd) * 10000) / 100 : 100,
      periodStart: row.period_start,
      periodEnd: row.period_end,
      warned: (row.warned & WARNED) !== 0,
    };
  }

  /** The next alarm: the period's end, or sooner when a reservation expires first. */
  #schedule(): void {
    const row = this.#row();
    if (!row) return;
    const next = this.ctx.storage.sql
      .exec<{ at: number | null }>('SELECT MIN(expires_at) AS at FROM reservations')
      .one().at;
    const at = next === null ? row.period_end : Math.min(row.period_end, next);
    void this.ctx.storage.setAlarm(at);
  }
}
