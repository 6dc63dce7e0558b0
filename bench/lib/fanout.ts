/**
 * Measuring a live-event fan-out from outside: N SSE subscribers, events sent one by one, each
 * delivery timestamped where it arrives. Shared by the events suite (the product's hub) and the
 * floor suite (the bare fan-out a hub on this runtime cannot avoid), so both figures are taken the
 * same way.
 */
import { type SseFrame, type SseSubscriber, subscribe } from './sse.ts';
import { quantile, summarize } from './stats.ts';

/** traceId → subscriber index → arrival times (more than one: a duplicate). */
export type Deliveries = Map<string, Map<number, number[]>>;

/** A frame handler for subscriber `j` that records `event` frames whose data names a traceId. */
export function recorder(received: Deliveries, event: string, prefix: string) {
  return (j: number) => (frame: SseFrame) => {
    if (frame.event !== event) return;
    // A substring search, not JSON.parse: with 1,000 sockets on one event loop, the client's own
    // per-frame cost is added to the later subscribers' figures.
    const at = frame.data.indexOf('"traceId":"');
    if (at < 0) return;
    const traceId = frame.data.slice(at + 11, frame.data.indexOf('"', at + 11));
    if (!traceId.startsWith(prefix)) return;
    let bySub = received.get(traceId);
    if (!bySub) {
      bySub = new Map();
      received.set(traceId, bySub);
    }
    const list = bySub.get(j);
    if (list) list.push(frame.at);
    else bySub.set(j, [frame.at]);
  };
}

/** Subscribers `from`…`to − 1`, connected in waves of 50 so the connect storm is not what is measured. */
export async function connectWaves(
  url: URL,
  apiKey: string,
  from: number,
  to: number,
  onFrame: (j: number) => (frame: SseFrame) => void,
  subs: SseSubscriber[],
): Promise<number> {
  const start = performance.now();
  for (let i = from; i < to; i += 50) {
    const wave: Promise<void>[] = [];
    for (let j = i; j < Math.min(to, i + 50); j++) {
      const sub = subscribe(url, apiKey, onFrame(j));
      subs.push(sub);
      wave.push(sub.ready);
    }
    await Promise.all(wave);
  }
  return performance.now() - start;
}

/** Waits (up to 5 s) until every sent event reached `expected` subscribers. */
export async function awaitDeliveries(
  received: Deliveries,
  sent: Map<string, number>,
  expected: number,
): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (performance.now() < deadline) {
    if ([...sent.keys()].every((id) => (received.get(id)?.size ?? 0) >= expected)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface FanoutFigures {
  /** Send → delivery, over every (event, subscriber) delivery, ms. */
  p50: number;
  p99: number;
  /** The slowest delivery of any event, and the median event's slowest. */
  last: number;
  lastP50: number;
  /** First delivery of an event → each delivery of it, ms. */
  fanoutP50: number;
  fanoutP99: number;
  fanoutLast: number;
  missing: number;
  duplicated: number;
  deliveries: number;
}

/** The figures of events sent at `sent` (traceId → send time) to `subscribers` subscribers. */
export function fanoutFigures(
  received: Deliveries,
  sent: Map<string, number>,
  subscribers: number,
): FanoutFigures {
  const latencies: number[] = [];
  const lasts: number[] = [];
  const fanout: number[] = [];
  let missing = 0;
  let duplicated = 0;
  for (const [traceId, sentAt] of sent) {
    const bySub = received.get(traceId) ?? new Map<number, number[]>();
    missing += subscribers - bySub.size;
    let last = Number.NEGATIVE_INFINITY;
    const first = Math.min(...[...bySub.values()].map((times) => times[0]!));
    for (const times of bySub.values()) {
      duplicated += times.length - 1;
      const latency = times[0]! - sentAt;
      latencies.push(latency);
      fanout.push(times[0]! - first);
      last = Math.max(last, latency);
    }
    if (bySub.size) lasts.push(last);
  }
  const f = summarize(fanout);
  const s = summarize(latencies);
  return {
    p50: s.p50,
    p99: s.p99,
    last: Math.max(...lasts),
    lastP50: quantile(lasts, 0.5),
    fanoutP50: f.p50,
    fanoutP99: f.p99,
    fanoutLast: f.max,
    missing,
    duplicated,
    deliveries: latencies.length,
  };
}
