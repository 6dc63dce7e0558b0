/**
 * Load shapes.
 *
 * - sequential: one request at a time (latency without queueing).
 * - openLoop: requests leave on a fixed schedule whatever the answers do, and each latency is
 *   measured from the request's INTENDED send time, so a stalled system is charged for every
 *   request that had to wait (no coordinated omission). A run whose backlog grows past
 *   `maxBacklogMs` is stopped and reported as overloaded rather than left to melt down.
 * - closedLoop: N workers back to back, for throughput at saturation.
 */

/** One request: resolves with whether it succeeded and performance.now() at its last byte. */
export type Fire = () => Promise<{ ok: boolean; end: number }>;

export interface SequentialResult {
  latencies: number[];
  errors: number;
}

export async function sequential(count: number, fire: Fire): Promise<SequentialResult> {
  const latencies: number[] = [];
  let errors = 0;
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    try {
      const r = await fire();
      if (r.ok) latencies.push(r.end - start);
      else errors++;
    } catch {
      errors++;
    }
  }
  return { latencies, errors };
}

export interface OpenLoopResult {
  offeredRps: number;
  /** Successful answers per second over the run. */
  achievedRps: number;
  /** Latency from the intended send time, successful requests only. */
  latencies: number[];
  sent: number;
  ok: number;
  errors: number;
  /** Requests of the schedule never sent because the run was stopped as overloaded. */
  unsent: number;
  overloaded: boolean;
}

export interface OpenLoopOptions {
  rate: number;
  durationMs: number;
  /** Stop when the oldest unanswered request is older than this (default 2 s). */
  maxBacklogMs?: number;
  /** Give up on stragglers this long after the schedule ends (default 10 s). */
  drainMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function openLoop(options: OpenLoopOptions, fire: Fire): Promise<OpenLoopResult> {
  const { rate, durationMs } = options;
  const maxBacklogMs = options.maxBacklogMs ?? 2_000;
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const interval = 1000 / rate;
  const latencies: number[] = [];
  const inflight = new Map<number, number>();
  let ok = 0;
  let errors = 0;
  let sent = 0;
  let overloaded = false;
  let lastEnd = 0;
  const start = performance.now() + 5;
  const pending: Array<Promise<void>> = [];

  for (let i = 0; i < total; ) {
    const now = performance.now();
    while (i < total && start + i * interval <= now) {
      const intended = start + i * interval;
      const index = i;
      inflight.set(index, intended);
      sent++;
      pending.push(
        fire().then(
          (r) => {
            inflight.delete(index);
            if (r.ok) {
              ok++;
              latencies.push(r.end - intended);
              lastEnd = Math.max(lastEnd, r.end);
            } else errors++;
          },
          () => {
            inflight.delete(index);
            errors++;
          },
        ),
      );
      i++;
    }
    // Map iteration order is insertion order: the first entry is the oldest unanswered request.
    const oldest = inflight.values().next();
    if (!oldest.done && now - oldest.value > maxBacklogMs) {
      overloaded = true;
      break;
    }
    if (i < total) await sleep(Math.max(0, start + i * interval - performance.now()));
  }
  const drained = Promise.all(pending);
  await Promise.race([drained, sleep(options.drainMs ?? 10_000)]);
  const elapsed = Math.max(1, (lastEnd || performance.now()) - start);
  return {
    offeredRps: rate,
    achievedRps: (ok / elapsed) * 1000,
    latencies,
    sent,
    ok,
    errors: errors + inflight.size,
    unsent: total - sent,
    overloaded,
  };
}

export interface ClosedLoopResult {
  concurrency: number;
  rps: number;
  ok: number;
  errors: number;
  latencies: number[];
}

export async function closedLoop(
  concurrency: number,
  durationMs: number,
  fire: Fire,
): Promise<ClosedLoopResult> {
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  const start = performance.now();
  const stopAt = start + durationMs;
  let lastEnd = start;
  const worker = async () => {
    while (performance.now() < stopAt) {
      const t = performance.now();
      try {
        const r = await fire();
        if (r.ok) {
          ok++;
          latencies.push(r.end - t);
          lastEnd = Math.max(lastEnd, r.end);
        } else errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { concurrency, rps: (ok / Math.max(1, lastEnd - start)) * 1000, ok, errors, latencies };
}
