/**
 * The platform's floor for a gateway call on this runtime — for the floor suite only
 * (bench/floor.bench.ts runs it with `wrangler dev <this file>`; it is never deployed).
 *
 * `POST /v1/__floor?to=<upstream>` does the work no design of a gateway call on Workers can skip,
 * and nothing else: the request is read, ONE Durable Object RPC writes one SQLite row (output-gated,
 * as the guard's admit is), the same request goes upstream (the body streamed back), and the
 * answer is returned. No authentication, policy, audit content, stages or outcome — so the gap
 * between this and the product's call is what the gateway itself costs, and this is what any
 * gateway pays on this runtime (miniflare's outbound Worker on every subrequest included).
 *
 * The product's Worker and Durable Objects are exported unchanged (the suite calls both through the
 * same runtime), except `SessionFacts`, replaced here by the floor's object: wrangler.toml binds that
 * class name to a SQLite-backed namespace, so the floor needs no configuration of its own.
 *
 * `GET /v1/__floor/events` and `POST /v1/__floor/publish?trace=<id>` are the floor of a live-event
 * fan-out: the floor object (instance `floor-hub`) holds each subscriber's SSE stream and writes one
 * event, encoded once, to every stream, in the product hub's slices (event.fanout.ts, imported), so
 * the spread figures compare. No event numbering, replay, filters, access re-checks or guard: only
 * the DO RPC, the writes, and the runtime pumping each stream through the Worker to its socket.
 *
 * Plain JavaScript on purpose (like bench/breakdown/instrumented.worker.js): the bench's TypeScript
 * is type-checked for Node, and this file runs in workerd.
 */
import { DurableObject } from 'cloudflare:workers';
import { inSlices } from '../../durable-objects/event.fanout.ts';
import worker from '../../workers/index.ts';

export * from '../../workers/index.ts';

/** The floor's Durable Object: one row per call, as a guard spools one audit row per call. */
export class SessionFacts extends DurableObject {
  streams = new Set();

  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      'CREATE TABLE IF NOT EXISTS floor (id TEXT PRIMARY KEY, size INTEGER NOT NULL, at INTEGER NOT NULL)',
    );
  }

  /** Subscribes: an SSE stream this object writes to until the client goes away. */
  fetch() {
    let controller;
    const body = new ReadableStream(
      {
        start: (c) => {
          controller = c;
        },
        cancel: () => this.streams.delete(controller),
      },
      // As the product's streams (event.streams.ts): byte-counted queue, one enqueue per write.
      { highWaterMark: 4 * 1024 * 1024, size: (chunk) => chunk.byteLength },
    );
    controller.enqueue(CONNECTED);
    this.streams.add(controller);
    return new Response(body, {
      headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' },
    });
  }

  /** One event to every stream: encoded once, written a slice per turn (not awaited by the caller). */
  publish(traceId) {
    const bytes = encoder.encode(`event: tool_call\ndata: {"traceId":"${traceId}","pad":"${PAD}"}\n\n`);
    this.ctx.waitUntil(
      inSlices(this.streams.values(), (c) => {
        try {
          c.enqueue(bytes);
        } catch {
          this.streams.delete(c);
        }
      }),
    );
    return this.streams.size;
  }

  async admit(id, size) {
    this.ctx.storage.sql.exec('INSERT INTO floor (id, size, at) VALUES (?, ?, ?)', id, size, Date.now());
    return { verdict: 'admit' };
  }
}

const encoder = new TextEncoder();
const CONNECTED = encoder.encode(': connected\n\n');
/**
 * The floor's frame is ~0.67 KB: about twice a product tool_call event's `data` line (~0.3 KB in the
 * `npm start` check), so a smaller write does not flatter the floor.
 */
const PAD = 'x'.repeat(600);

const FORWARDED = ['accept', 'content-type', 'mcp-session-id', 'mcp-protocol-version'];

export default {
  ...worker,
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/v1/__floor/events' || url.pathname === '/v1/__floor/publish') {
      const hub = env.SESSION_FACTS.get(env.SESSION_FACTS.idFromName('floor-hub'));
      if (url.pathname === '/v1/__floor/events') return hub.fetch(request);
      return new Response(String(await hub.publish(url.searchParams.get('trace'))), { status: 202 });
    }
    if (url.pathname !== '/v1/__floor') return worker.fetch(request, env, ctx);
    const body = await request.arrayBuffer();
    const stub = env.SESSION_FACTS.get(env.SESSION_FACTS.idFromName('floor'));
    await stub.admit(crypto.randomUUID(), body.byteLength);
    const headers = new Headers();
    for (const name of FORWARDED) {
      const value = request.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    const upstream = await fetch(url.searchParams.get('to'), { method: 'POST', headers, body });
    return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
  },
};
