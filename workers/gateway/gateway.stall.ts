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
 *     total bound: a long answer that keeps talking is the caller's to stop;
 *   - a JSON answer the stages read whole (gateway.rewrite.ts) is refused past `idleMs` between two
 *     chunks of its body, as a held stream is.
 * A gap counts only while the gateway is waiting for the upstream (a read is pending): a caller
 * that reads slowly holds the upstream back, and that is no stall of the upstream's.
 * MCP's GET streams and A2A streams get no bound: server notifications are legitimately idle for
 * hours, and their adapters give none (`streamBounds`).
 *
 * Cost: one timer per stall bound's period, not per chunk — a chunk only notes the time; the timer,
 * when it fires early, is set again for what is left.
 */
import { AppError } from '../lib/errors';
import { declaredLength, readCapped } from '../lib/http.bounded';

/** The connection's bounds on a streamed answer (connection settings `streamIdleTimeoutMs`, `heldStreamTimeoutMs`). */
export interface StreamBounds {
  idleMs: number;
  heldMs: number;
}

export function streamTimeout(bound: 'idle' | 'held', ms: number): AppError {
  return new AppError('upstream_timeout', {
    message:
      bound === 'idle'
        ? `The upstream's answer stalled: nothing came for ${ms} ms`
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

/**
 * An answer read whole up to `maxBytes` (readCapped), and with `idleMs` (an LLM's JSON answer: its
 * headers came, its body may still stall) no longer than that between two chunks.
 */
export function readCappedWithin(
  response: Response,
  maxBytes: number,
  tooLarge: () => AppError,
  idleMs: number | null,
): Promise<Uint8Array> {
  if (idleMs === null || !response.body) return readCapped(response, maxBytes, tooLarge);
  // A declared length over the cap is refused before anything is read, as readCapped refuses it.
  const declared = declaredLength(response);
  if (declared !== null && declared > maxBytes) return Promise.reject(tooLarge());
  return readWithin(response.body, { maxBytes, tooLarge, idleMs, totalMs: null });
}

/** A body read whole (a held stream, an LLM JSON answer), within its bounds. */
export interface WholeRead {
  maxBytes: number;
  tooLarge: () => AppError;
  /** Null: no bound (a connection's call with no adapter bounds). */
  idleMs: number | null;
  totalMs: number | null;
  /** Another end of the read (the call's kill-switch watch, killswitch.stream.ts `watchWhileRead`). */
  watch?: (over: Promise<unknown>) => { ended: Promise<AppError | null>; done(): void };
}

/**
 * The body, read whole up to `maxBytes`. A stall past its bounds, or the watch's error, ends the
 * read: the body is cancelled (so is the upstream request), the watch withdrawn, the timer cleared,
 * and the error thrown.
 */
export async function readWithin(body: ReadableStream<Uint8Array>, read: WholeRead): Promise<Uint8Array> {
  const reader = body.getReader();
  let endedWith: AppError | null = null;
  // Cancelling the reader cancels the upstream body, and ends a pending read (done).
  const end = (err: AppError) => {
    if (endedWith) return;
    endedWith = err;
    reader.cancel(err.code).catch(() => {});
  };
  const stall = read.idleMs === null ? null : new StallWatch(read.idleMs, read.totalMs, end);
  const all = readAll(reader, read, stall, () => endedWith);
  const watch = read.watch?.(all);
  watch?.ended.then(
    (err) => err && end(err),
    () => {},
  );
  try {
    return await all;
  } finally {
    stall?.stop();
    watch?.done();
  }
}

/** The chunks up to the cap; throws the error the read was ended with (`ended`), if any. */
async function readAll(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  read: WholeRead,
  stall: StallWatch | null,
  ended: () => AppError | null,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    stall?.waiting();
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch (err) {
      throw ended() ?? err;
    }
    stall?.arrived();
    const err = ended();
    if (err) throw err;
    if (next.done) break;
    total += next.value.byteLength;
    if (total > read.maxBytes) {
      await reader.cancel().catch(() => {});
      throw read.tooLarge();
    }
    chunks.push(next.value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
