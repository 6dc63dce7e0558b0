/**
 * Anomaly detection for one connection (run inside its ConnectionGuard). Anomalies are reported,
 * never enforced: they are audit rows of type `anomaly` and live `anomaly` events, and no call is
 * refused because of them.
 *
 * rate_spike — the math, precisely:
 *   - Calls are counted in one-second slots (`second = floor(ms / 1000)`); s is the current slot.
 *   - current rate  = calls in slots [s-59, s]            (the last 60 s, this call included), per minute.
 *   - baseline      = calls in slots [s-659, s-60] / 10   (the 10 minutes before that), per minute.
 *   - threshold     = baseline × multiplier (connection setting `anomaly.rateSpikeMultiplier`, default 3).
 *   - It fires when current > threshold AND the baseline window holds at least MIN_BASELINE_CALLS
 *     calls. Without that floor a brand-new or long-idle connection would "spike" on its first few
 *     calls (any rate exceeds 3 × 0); the price is that a burst after ten quiet minutes is not a
 *     spike — the destructive-pattern detector and the audit trail still see every call.
 *   "Calls" are JSON-RPC messages that reached the guard, whatever the verdict: an agent hammering
 *   a killed session or a full rate window is exactly the behaviour worth flagging.
 *
 * destructive_pattern — a tools/call whose tool name matches one of the globs in
 *   `anomaly.destructivePatterns` (default delete_*, drop_*, truncate_*, destroy_*, purge_*), even
 *   when the policy allows it. An empty list turns it off.
 *
 * Cooldown — after an anomaly of a type fires, that type stays quiet for 5 minutes on this
 * connection (one guard per connection, so "per type per connection" is this object's state).
 * Counts and cooldowns live in SQLite, so an evicted or restarted guard neither forgets its
 * baseline nor fires again inside a cooldown; the counts are also held in memory (read back once),
 * so a call sums its windows without a SQL aggregate.
 */
import { compileGlob, type GlobMatcher } from '../workers/shared/policy.glob.js';
import type { SqlLike } from './sql.types.js';

export type AnomalyType = 'rate_spike' | 'destructive_pattern';

export interface AnomalySettings {
  rateSpikeMultiplier?: number;
  destructivePatterns?: string[];
}

export const ANOMALY_COOLDOWN_MS = 5 * 60_000;
export const DEFAULT_RATE_SPIKE_MULTIPLIER = 3;
export const DEFAULT_DESTRUCTIVE_PATTERNS: readonly string[] = [
  'delete_*',
  'drop_*',
  'truncate_*',
  'destroy_*',
  'purge_*',
];
export const CURRENT_WINDOW_SECONDS = 60;
export const BASELINE_MINUTES = 10;
/** The baseline window must hold at least this many calls (an average of 2 a minute) to judge a spike. */
export const MIN_BASELINE_CALLS = 20;
/** Oldest slot still needed: the baseline window's start. */
const HISTORY_SECONDS = CURRENT_WINDOW_SECONDS + BASELINE_MINUTES * 60;

export interface RateSpikeFigures {
  /** Calls in the last 60 s (calls per minute). */
  currentRate: number;
  /** Average calls per minute over the 10 minutes before that. */
  baselineRate: number;
  baselineCalls: number;
  threshold: number;
  spike: boolean;
}

/** The slot ranges (inclusive) of the two windows at slot `second`. */
export function spikeWindows(second: number) {
  return {
    current: { from: second - CURRENT_WINDOW_SECONDS + 1, to: second },
    baseline: { from: second - HISTORY_SECONDS + 1, to: second - CURRENT_WINDOW_SECONDS },
  };
}

/** The rate-spike decision from the two window counts. Pure. */
export function rateSpike(currentCalls: number, baselineCalls: number, multiplier: number): RateSpikeFigures {
  const baselineRate = baselineCalls / BASELINE_MINUTES;
  const threshold = baselineRate * multiplier;
  return {
    currentRate: currentCalls,
    baselineRate,
    baselineCalls,
    threshold,
    spike: baselineCalls >= MIN_BASELINE_CALLS && currentCalls > threshold,
  };
}

/**
 * A figure as reported (row, event, dashboard): two decimals. The decision itself uses the exact
 * value; 2.4 × 3 is 7.199999999999999 in floating point, which no one should have to read.
 */
export function reported(figure: number): number {
  return Math.round(figure * 100) / 100;
}

/** The first pattern a tool name matches, or null. Pure. */
export function destructivePattern(
  tool: string,
  patterns: ReadonlyArray<{ glob: string; match: GlobMatcher }>,
) {
  for (const p of patterns) if (p.match(tool)) return p.glob;
  return null;
}

export function cooldownOver(lastFiredAt: number | undefined, now: number): boolean {
  return lastFiredAt === undefined || now - lastFiredAt >= ANOMALY_COOLDOWN_MS;
}

export interface AnomalyFinding {
  anomalyType: AnomalyType;
  toolName: string | null;
  /** rate_spike: calls in the last minute; destructive_pattern: null. */
  currentRate: number | null;
  /** rate_spike: the calls-per-minute figure it exceeded; destructive_pattern: null. */
  threshold: number | null;
  details: Record<string, unknown>;
}

export interface Observation {
  /** JSON-RPC messages in this request. */
  calls: number;
  /** Tool names of its tools/call messages. */
  tools: string[];
  /** The tool of the request (for a rate_spike's toolName); null when it had none. */
  tool: string | null;
}

/** Per-connection detector state in the guard's SQLite; `now` is injected. */
export class AnomalyDetector {
  readonly #sql: SqlLike;
  readonly #fired = new Map<AnomalyType, number>();
  #lastPruned = 0;
  #patterns: { key: string; compiled: Array<{ glob: string; match: GlobMatcher }> } | null = null;
  /**
   * Calls per one-second slot, the last HISTORY_SECONDS of them (at most 660 entries): the windows
   * are summed here, not with a SQL aggregate per call. Read from SQLite (the durable copy,
   * written through on every observation) at the first observation, not in the constructor.
   */
  #slots: Map<number, number> | null = null;

  /** `now` only seeds the pruning schedule; counts are read from SQLite once, at the first observation. */
  constructor(sql: SqlLike, now: number) {
    this.#sql = sql;
    sql.exec('CREATE TABLE IF NOT EXISTS anomaly_seconds (second INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
    sql.exec('CREATE TABLE IF NOT EXISTS anomaly_fired (type TEXT PRIMARY KEY, at INTEGER NOT NULL)');
    this.#lastPruned = Math.floor(now / 1000) - 1;
    for (const row of sql
      .exec<{ type: string; at: number }>('SELECT type, at FROM anomaly_fired')
      .toArray()) {
      this.#fired.set(row.type as AnomalyType, row.at);
    }
  }

  /** Records a request's calls and returns the anomalies to report now (cooldowns applied). */
  observe(observation: Observation, now: number, settings: AnomalySettings = {}): AnomalyFinding[] {
    const findings: AnomalyFinding[] = [];
    if (observation.calls <= 0) return findings;
    const second = Math.floor(now / 1000);
    this.#record(second, observation.calls);

    const multiplier = settings.rateSpikeMultiplier ?? DEFAULT_RATE_SPIKE_MULTIPLIER;
    const figures = this.#figures(second, multiplier);
    if (figures.spike && this.#take('rate_spike', now)) {
      findings.push({
        anomalyType: 'rate_spike',
        toolName: observation.tool,
        currentRate: figures.currentRate,
        threshold: reported(figures.threshold),
        details: {
          currentRate: figures.currentRate,
          baselineRate: reported(figures.baselineRate),
          threshold: reported(figures.threshold),
          multiplier,
          windowSeconds: CURRENT_WINDOW_SECONDS,
          baselineMinutes: BASELINE_MINUTES,
        },
      });
    }

    const patterns = this.#compiled(settings.destructivePatterns ?? DEFAULT_DESTRUCTIVE_PATTERNS);
    for (const tool of observation.tools) {
      const pattern = destructivePattern(tool, patterns);
      if (pattern === null) continue;
      if (this.#take('destructive_pattern', now)) {
        findings.push({
          anomalyType: 'destructive_pattern',
          toolName: tool,
          currentRate: null,
          threshold: null,
          details: { pattern },
        });
      }
      break;
    }
    return findings;
  }

  #record(second: number, calls: number): void {
    const slots = this.#loadedSlots();
    slots.set(second, (slots.get(second) ?? 0) + calls);
    this.#sql.exec(
      `INSERT INTO anomaly_seconds (second, n) VALUES (?, ?)
       ON CONFLICT(second) DO UPDATE SET n = n + excluded.n`,
      second,
      calls,
    );
    // Old slots go at most once a second: the delete is cheap but needn't run on every call.
    if (second !== this.#lastPruned) {
      this.#lastPruned = second;
      const from = spikeWindows(second).baseline.from;
      this.#sql.exec('DELETE FROM anomaly_seconds WHERE second < ?', from);
      for (const slot of slots.keys()) if (slot < from) slots.delete(slot);
    }
  }

  #loadedSlots(): Map<number, number> {
    if (this.#slots) return this.#slots;
    const slots = new Map<number, number>();
    for (const row of this.#sql
      .exec<{ second: number; n: number }>('SELECT second, n FROM anomaly_seconds')
      .toArray()) {
      slots.set(row.second, row.n);
    }
    this.#slots = slots;
    return slots;
  }

  /** Both window counts from the slots in memory (at most 660 of them). */
  #figures(second: number, multiplier: number): RateSpikeFigures {
    const w = spikeWindows(second);
    let current = 0;
    let baseline = 0;
    for (const [slot, n] of this.#loadedSlots()) {
      if (slot >= w.current.from && slot <= w.current.to) current += n;
      else if (slot >= w.baseline.from && slot <= w.baseline.to) baseline += n;
    }
    return rateSpike(current, baseline, multiplier);
  }

  /** True (and the cooldown starts) when this type may fire now. */
  #take(type: AnomalyType, now: number): boolean {
    if (!cooldownOver(this.#fired.get(type), now)) return false;
    this.#fired.set(type, now);
    this.#sql.exec(
      'INSERT INTO anomaly_fired (type, at) VALUES (?, ?) ON CONFLICT(type) DO UPDATE SET at = excluded.at',
      type,
      now,
    );
    return true;
  }

  #compiled(globs: readonly string[]) {
    const key = globs.join('\n');
    if (this.#patterns?.key !== key) {
      this.#patterns = { key, compiled: globs.map((glob) => ({ glob, match: compileGlob(glob) })) };
    }
    return this.#patterns.compiled;
  }
}
