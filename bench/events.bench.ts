/**
 * Live events: N concurrent SSE subscribers on GET /api/v1/events (1,000 in the full run), then
 * gateway calls spaced apart, each carrying its own X-Igris-Trace-Id. Each call produces one
 * tool_call event, published by the guard when the call's outcome is recorded (off the hot path,
 * while the answer streams back — events often reach subscribers before the caller has read its
 * whole answer, so the answer is no usable reference).
 *
 * The publish instant is not observable from outside without changing the Worker, so two figures:
 *   latency  = delivery at a subscriber − when the CALL WAS SENT: an upper bound of publish →
 *              delivery (it also contains the whole gateway call up to the publish);
 *   fan-out  = delivery at a subscriber − the first delivery of the same event: how long the hub
 *              takes to reach everyone once it started.
 * Also counted: events missing at a subscriber, and events delivered twice.
 */
import { type BenchContext, pick } from './lib/context.ts';
import {
  awaitDeliveries,
  connectWaves,
  type Deliveries,
  type FanoutFigures,
  fanoutFigures,
  recorder,
} from './lib/fanout.ts';
import { keepAliveAgent, send } from './lib/http.ts';
import { echoCall, echoMessage, isResult, mcpHeaders, rpcId } from './lib/mcp.ts';
import { cpuMeter } from './lib/procs.ts';
import { type SseSubscriber, subscribe } from './lib/sse.ts';
import { quantile } from './lib/stats.ts';

/** The delivery figures (bench/lib/fanout.ts: p50/p99 from the CALL's send, last, fan-out, missing…), and: */
export interface EventsResult extends Omit<FanoutFigures, 'deliveries'> {
  via: string;
  subscribers: number;
  connected: number;
  events: number;
  connectMs: number;
  /** Call sent → delivery with ONE subscriber (the pipeline without fan-out), p50 and p99. */
  soloP50: number;
  soloP99: number;
  /**
   * CPU per delivery (µs) while every subscriber listened: workerd's, and this load generator's own
   * (its sockets are read on one event loop, so when it is slower than workerd its reading, not the
   * gateway's fan-out, spreads the later deliveries). The events' own calls are included.
   */
  workerdUsPerDelivery?: number;
  clientUsPerDelivery?: number;
}

export async function runEvents(ctx: BenchContext): Promise<EventsResult> {
  const subscribers = pick(ctx, 200, 1_000);
  const events = pick(ctx, 10, 30);
  const run = `bench-ev-${Date.now().toString(36)}`;
  const acked = new Map<string, number>();
  const received: Deliveries = new Map();
  // The runtime's own socket: `npm start`'s port.
  const base = ctx.stack.runtimeUrl;
  const url = new URL(`${base}/api/v1/events`);
  const subs: SseSubscriber[] = [];
  const onFrame = recorder(received, 'tool_call', run);

  const agent = keepAliveAgent(1);
  const gateway = new URL(`${base}/v1/mcp/${ctx.slug}`);
  const message = echoMessage(256);
  /** Sends `count` calls 150 ms apart; returns traceId → send time of the answered ones. */
  const sendCalls = async (prefix: string, count: number, expected: number) => {
    const sent = new Map<string, number>();
    for (let k = 0; k < count; k++) {
      const traceId = `${prefix}-${k}`;
      const sentAt = performance.now();
      const res = await send(agent, gateway, {
        body: echoCall(rpcId(), message),
        headers: mcpHeaders(ctx.sessionId, {
          Authorization: `Bearer ${ctx.stack.apiKey}`,
          'X-Igris-Trace-Id': traceId,
        }),
      });
      if (isResult(res)) sent.set(traceId, sentAt);
      await new Promise((r) => setTimeout(r, 150));
    }
    await awaitDeliveries(received, sent, expected);
    return sent;
  };

  try {
    // 1. One subscriber: the pipeline's own latency, no fan-out.
    const first = subscribe(url, ctx.stack.apiKey, onFrame(0));
    subs.push(first);
    await first.ready;
    const solo: number[] = [];
    for (const [traceId, sentAt] of await sendCalls(`${run}-solo`, pick(ctx, 5, 10), 1)) {
      const at = received.get(traceId)?.get(0)?.[0];
      if (at !== undefined) solo.push(at - sentAt);
    }

    // 2. All subscribers.
    const connectMs = await connectWaves(url, ctx.stack.apiKey, 1, subscribers, onFrame, subs);
    ctx.log(`events: ${subs.length} subscribers connected in ${connectMs.toFixed(0)} ms`);
    const workerdCpu = cpuMeter({ workerd: ctx.stack.workerdPids });
    const clientCpu = process.cpuUsage();
    for (const [traceId, sentAt] of await sendCalls(`${run}-all`, events, subscribers))
      acked.set(traceId, sentAt);
    const { user, system } = process.cpuUsage(clientCpu);
    const workerdMs = workerdCpu().workerd!;
    agent.destroy();

    const figures = fanoutFigures(received, acked, subscribers);
    const { deliveries, ...delivery } = figures;
    const result: EventsResult = {
      via: 'runtime socket',
      subscribers,
      connected: subs.length,
      events: acked.size,
      ...delivery,
      soloP50: quantile(solo, 0.5),
      soloP99: quantile(solo, 0.99),
      connectMs,
    };
    if (deliveries > 0) {
      result.workerdUsPerDelivery = (workerdMs * 1000) / deliveries;
      result.clientUsPerDelivery = (user + system) / deliveries;
    }
    ctx.log(
      `events to ${subscribers} subscribers (from the call's send): p50 ${result.p50.toFixed(1)} ms p99 ${result.p99.toFixed(1)} ms last ${result.last.toFixed(1)} ms; ` +
        `fan-out p99 ${result.fanoutP99.toFixed(1)} ms; one subscriber p50 ${result.soloP50.toFixed(1)} ms; missing ${result.missing}, duplicated ${result.duplicated}; ` +
        `CPU per delivery: workerd ${result.workerdUsPerDelivery?.toFixed(0)} µs, load generator ${result.clientUsPerDelivery?.toFixed(0)} µs`,
    );
    return result;
  } finally {
    for (const sub of subs) sub.close();
  }
}
