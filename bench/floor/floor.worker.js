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
 * Plain JavaScript on purpose (like bench/breakdown/instrumented.worker.js): the bench's TypeScript
 * is type-checked for Node, and this file runs in workerd.
 */
import { DurableObject } from 'cloudflare:workers';
import worker from '../../workers/index.ts';

export * from '../../workers/index.ts';

/** The floor's Durable Object: one row per call, as a guard spools one audit row per call. */
export class SessionFacts extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      'CREATE TABLE IF NOT EXISTS floor (id TEXT PRIMARY KEY, size INTEGER NOT NULL, at INTEGER NOT NULL)',
    );
  }

  async admit(id, size) {
    this.ctx.storage.sql.exec('INSERT INTO floor (id, size, at) VALUES (?, ?, ?)', id, size, Date.now());
    return { verdict: 'admit' };
  }
}

const FORWARDED = ['accept', 'content-type', 'mcp-session-id', 'mcp-protocol-version'];

export default {
  ...worker,
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
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
