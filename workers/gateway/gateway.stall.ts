/**
 * How long the gateway waits for an LLM upstream's streamed answer (docs/llm-gateway.md#stream-timeouts).
 *
 * The forward's timeout (`upstreamTimeoutMs`, gateway.forward.ts) covers the response headers
 * only. After them an upstream may stall, or trickle, for ever:
 *   - a held stream (`streamMode: "hold"`, gateway.hold.ts) is read whole before the caller gets
 *     anything, so such an upstream would hold the caller, and the isolate's memory, with no end.
 *     It is bounded twice: no gap between chunks over `idleMs`, and the whole read within `heldMs`
 *     (a trickle — a byte every minute — never trips an idle bound); past either it is refused,
 *     504 `upstream_timeout`, nothing of it sent;
 *   - a relayed stream (`pass`, gateway.rewrite.ts) is ended, past `idleMs` without an event, with
 *     the provider's error event, as a kill switch ends it. Its caller reads as it comes, so no
 *     total bound: a long answer that keeps talking is the caller's to stop.
 * A gap counts only while the gateway is waiting for the upstream (a read is pending): a caller
 * that reads slowly holds the upstream back, and that is no stall of the upstream's.
 * MCP's GET streams and A2A streams get no bound: server notifications are legitimately idle for
 * hours, and their adapters give none (`streamBounds`).
 *
 * Cost: one timer per stall bound's period, not per chunk — a chunk only notes the time; the timer,
 * when it fires early, is set again for what is left.
 */
import { AppError } from '../lib/errors';

/** The connection's bounds on a streamed answer (connection settings `streamIdleTimeoutMs`, `heldStreamTimeoutMs`). */
export interface StreamBounds {
  idleMs: number;
  heldMs: number;
}

export function streamTimeout(bound: 'idle' | 'held', ms: number): AppError {
  return new AppError('upstream_timeout', {
    message:
      bound === 'idle'
        ? `The upstream sent nothing of its streamed answer for ${ms} ms`
        : `The upstream did not finish its streamed answer within ${ms} ms`,
    details: { setting: bound === 'idle' ? 'streamIdleTimeoutMs' : 'heldStreamTimeoutMs', timeoutMs: ms },
  });
}

/**
 * Fires `onStall` once when a read has been pending `idleMs`, or (with `totalMs`) when `totalMs`
 * have passed since it was made. `waiting()` before each read, `arrived()` after it, `stop()` at the end.
 */
export class StallWatch {
  private readonly started = Date.now();
  private waitingSince: number | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** When the timer fires (a timer set for an earlier moment is kept: it checks and sets again). */
  private timerAt = Number.POSITIVE_INFINITY;
  private over = false;
  private readonly idleMs: number;
  private readonly totalMs: number | null;
  private readonly onStall: (err: AppError) => void;

  constructor(idleMs: number, totalMs: number | null, onStall: (err: AppError) => void) {
    this.idleMs = idleMs;
    this.totalMs = totalMs;
    this.onStall = onStall;
    this.arm();
  }

  waiting(): void {
    this.waitingSince = Date.now();
    this.arm();
  }

  arrived(): void {
    this.waitingSince = null;
  }

  stop(): void {
    this.over = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * The timer for the nearest deadline; none while nothing is awaited and there is no total. A
   * chunk's read usually finds one set for an earlier moment already: nothing to do.
   */
  private arm(): void {
    if (this.over) return;
    const idleAt = this.waitingSince === null ? Number.POSITIVE_INFINITY : this.waitingSince + this.idleMs;
    const totalAt = this.totalMs === null ? Number.POSITIVE_INFINITY : this.started + this.totalMs;
    const at = Math.min(idleAt, totalAt);
    if (at === Number.POSITIVE_INFINITY || (this.timer !== null && this.timerAt <= at)) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.check(), Math.max(0, at - Date.now()));
  }

  private check(): void {
    this.timer = null;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.over) return;
    const now = Date.now();
    if (this.totalMs !== null && now - this.started >= this.totalMs)
      this.fire(streamTimeout('held', this.totalMs));
    else if (this.waitingSince !== null && now - this.waitingSince >= this.idleMs)
      this.fire(streamTimeout('idle', this.idleMs));
    else this.arm();
  }

  private fire(err: AppError): void {
    this.stop();
    this.onStall(err);
  }
}
