/**
 * The product's Worker, unchanged, with its bindings wrapped in timers — for the breakdown suite
 * only (bench/breakdown.bench.ts runs it with `wrangler dev <this file>`; it is never deployed).
 *
 * - Every gateway/API request runs the product's own fetch handler with an env whose D1, KV, guard
 *   and spool bindings (and the global fetch used to reach the upstream) time each call. The
 *   times come back in an `X-Bench-Timing` response header (JSON, ms per stage). Requests are
 *   sent one at a time, so one module-level record is enough. A request with `X-Bench-Timing: off`
 *   runs the product with its real bindings (for the CPU profile, so the wrappers are not in it).
 * - `GET /v1/__bench/pieces?...` times the pieces on their own, n times each: the guard round trip
 *   with and without an audit row and with a rate window, the D1 lookups, the KV read, the vault
 *   decryption and an upstream fetch from inside the runtime.
 *
 * Clock: workerd advances Date.now()/performance.now() only when I/O completes, so these figures
 * are I/O waits (plus the CPU of other work interleaved with them); pure CPU in between reads as 0.
 *
 * Plain JavaScript on purpose: the bench's TypeScript is type-checked for Node (tsconfig.node.json),
 * and this file runs in workerd.
 */
import { authenticateApiKey } from '../../workers/auth/api-key.auth.ts';
import { authenticateAndResolve, hashedKey } from '../../workers/gateway/gateway.callers.ts';
import { upstreamCredential } from '../../workers/gateway/gateway.connection.ts';
import worker, {
  AuditSpool,
  BudgetCounter,
  ConnectionGuard,
  EventHub,
  LoginLimiter,
  MetricsHub,
} from '../../workers/index.ts';

// Every other Durable Object class the product exports (wrangler refuses a binding without its class).
export * from '../../workers/index.ts';
export { AuditSpool, BudgetCounter, ConnectionGuard, EventHub, LoginLimiter, MetricsHub };

/** The record of the request in flight (null between requests and in waitUntil work after it). */
let current = null;

/**
 * Round trips per request, by kind (D1 statement or batch, KV read, Durable Object RPC), split at
 * the moment the upstream fetch starts: `before` forwarding and `after` it (including the waitUntil
 * work that runs after the answer). Each request's wrapped env writes to its own record, so work
 * that outlives the response is still counted for it. The last RECENT records are kept.
 */
const RECENT = 5000;
const recent = [];
let inFlight = null;

function count(rec, kind) {
  const bucket = rec.forwarded ? rec.after : rec.before;
  bucket[kind] = (bucket[kind] ?? 0) + 1;
}

function add(label, ms) {
  if (current) current[label] = (current[label] ?? 0) + ms;
}

async function timed(label, fn) {
  const t = performance.now();
  try {
    return await fn();
  } finally {
    add(label, performance.now() - t);
  }
}

function d1Label(sql) {
  if (/FROM api_keys/i.test(sql)) return 'd1.apiKey';
  if (/UPDATE api_keys/i.test(sql)) return 'd1.apiKeyTouch';
  if (/FROM connections/i.test(sql)) return 'd1.connection';
  if (/FROM policies/i.test(sql)) return 'd1.policy';
  if (/FROM organizations LIMIT 1/i.test(sql)) return 'd1.bootstrap';
  return 'd1.other';
}

const REAL = Symbol('real');

function wrapStatement(stmt, label, rec) {
  return new Proxy(stmt, {
    get(target, prop) {
      if (prop === REAL) return target;
      const value = target[prop];
      if (typeof value !== 'function') return value;
      if (prop === 'bind') return (...args) => wrapStatement(value.apply(target, args), label, rec);
      if (prop === 'first' || prop === 'all' || prop === 'run' || prop === 'raw') {
        count(rec, 'd1');
        return (...args) => timed(label, () => value.apply(target, args));
      }
      return value.bind(target);
    },
  });
}

function wrapD1(db, rec) {
  return new Proxy(db, {
    get(target, prop) {
      const value = target[prop];
      if (prop === 'prepare') return (sql) => wrapStatement(value.call(target, sql), d1Label(sql), rec);
      if (prop === 'batch') {
        count(rec, 'd1');
        return (stmts) =>
          timed('d1.batch', () =>
            value.call(
              target,
              stmts.map((s) => s[REAL] ?? s),
            ),
          );
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function wrapKv(kv, rec) {
  return new Proxy(kv, {
    get(target, prop) {
      const value = target[prop];
      if (prop === 'get' || prop === 'getWithMetadata') {
        count(rec, 'kv');
        return (...args) => timed('kv.get', () => value.apply(target, args));
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function wrapStub(stub, prefix, rec) {
  return new Proxy(stub, {
    get(target, prop) {
      const value = target[prop];
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      // Called as a method on the stub: an RPC method handle has no usable .apply (it would be RPC too).
      return (...args) => {
        count(rec, 'do');
        count(rec, `do.${prefix}.${prop}`);
        return timed(`${prefix}.${prop}`, () => target[prop](...args));
      };
    },
  });
}

function wrapNamespace(ns, prefix, rec) {
  return new Proxy(ns, {
    get(target, prop) {
      const value = target[prop];
      if (prop === 'getByName' || prop === 'get')
        return (...args) => wrapStub(value.apply(target, args), prefix, rec);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const realFetch = globalThis.fetch;
globalThis.fetch = (...args) => {
  if (!current) return realFetch(...args);
  if (inFlight) inFlight.forwarded = true;
  return timed('upstream.headers', () => realFetch(...args));
};

function wrapEnv(env, rec) {
  return {
    ...env,
    DB: wrapD1(env.DB, rec),
    POLICY_KV: wrapKv(env.POLICY_KV, rec),
    OAUTH_KV: wrapKv(env.OAUTH_KV, rec),
    GUARD: wrapNamespace(env.GUARD, 'guard', rec),
    AUDIT_SPOOL: wrapNamespace(env.AUDIT_SPOOL, 'spool', rec),
    EVENT_HUB: wrapNamespace(env.EVENT_HUB, 'hub', rec),
    BUDGETS: wrapNamespace(env.BUDGETS, 'budget', rec),
    METRICS_HUB: wrapNamespace(env.METRICS_HUB, 'metrics', rec),
  };
}

/** Mean round trips per request over the requests after the first `skip` (the cold ones). */
function counts(url) {
  const skip = Number(url.searchParams.get('skip') ?? '0');
  const pick = recent.slice(skip);
  const sum = (side) => {
    const out = {};
    for (const r of pick) for (const [k, v] of Object.entries(r[side])) out[k] = (out[k] ?? 0) + v;
    for (const k of Object.keys(out)) out[k] /= Math.max(1, pick.length);
    return out;
  };
  return { requests: pick.length, first: recent[0] ?? null, before: sum('before'), after: sum('after') };
}

/** Times fn n times; a function that returns a number reports that duration instead of its own. */
async function timeLoop(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const own = await fn(i);
    out.push(typeof own === 'number' ? own : performance.now() - t);
  }
  return out;
}

/** Each piece of the request path on its own, n times. */
async function pieces(url, env) {
  const q = url.searchParams;
  const n = Math.min(2000, Number(q.get('n') ?? '200'));
  const orgId = q.get('org');
  const slug = q.get('slug');
  const apiKey = q.get('key');
  const upstream = q.get('upstream');
  const session = q.get('session');
  // The gateway resolves the key and the connection in one D1 query (gateway.callers.ts); the key
  // is hashed in each timed call, as a call hashes it once.
  // POLICY_CACHE_TTL_MS 0: past the isolate cache, what a cold call (or a changed configuration) pays.
  const resolve = async () =>
    (await authenticateAndResolve({ ...env, POLICY_CACHE_TTL_MS: '0' }, await hashedKey(apiKey), slug))
      .connection;
  const connection = await resolve();
  const guard = env.GUARD.getByName(`${orgId}:${connection.id}`);
  const target = { orgId, connectionId: connection.id };
  let seq = 0;
  const row = () => ({
    id: `evt_bench_${Date.now().toString(36)}_${seq++}`,
    orgId,
    type: 'request',
    connectionId: connection.id,
    connectionSlug: slug,
    traceId: 'bench-pieces',
    action: 'allow',
    method: 'tools/call',
    tool: 'echo',
    createdAt: Date.now(),
  });
  const caller = { apiKeyId: null, user: 'bench-user', mcpSessionId: null };
  const message = 'x'.repeat(1024);
  const out = {};
  out['auth: hash + D1 key lookup'] = await timeLoop(n, () => authenticateApiKey(env.DB, apiKey));
  out['D1 key + connection lookup (one query)'] = await timeLoop(n, resolve);
  out['key + connection from the isolate cache'] = await timeLoop(
    n,
    async () => (await authenticateAndResolve(env, await hashedKey(apiKey), slug)).connection,
  );
  out['KV policy read'] = await timeLoop(n, () =>
    env.POLICY_KV.get(`policy:${orgId}:${connection.id}`, 'json'),
  );
  out['vault: decrypt credential'] = await timeLoop(n, () => upstreamCredential(env, connection));
  out['guard admit, no audit row'] = await timeLoop(n, () =>
    guard.admit({ ...target, caller, rateChecks: [], audit: [], final: false }),
  );
  out['guard admit + 1 audit row'] = await timeLoop(n, () =>
    guard.admit({ ...target, caller, rateChecks: [], audit: [row()], final: false }),
  );
  out['guard admit + row + rate window'] = await timeLoop(n, () =>
    guard.admit({
      ...target,
      caller,
      rateChecks: [{ ruleIndex: 0, key: 'bench:pieces', limit: 1_000_000_000, windowSeconds: 60 }],
      audit: [row()],
      final: false,
    }),
  );
  out['guard complete (off the hot path)'] = await timeLoop(n, async () => {
    const r = row();
    await guard.admit({ ...target, caller, rateChecks: [], audit: [r], final: false });
    const t = performance.now();
    await guard.complete(r.id, { upstreamStatus: 200, latencyMs: 1 });
    return performance.now() - t;
  });
  out['upstream fetch from workerd (1 KB echo)'] = await timeLoop(n, async (i) => {
    const res = await realFetch(upstream, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
        'Mcp-Session-Id': session,
        'Mcp-Protocol-Version': '2025-06-18',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1_000_000 + i,
        method: 'tools/call',
        params: { name: 'echo', arguments: { message } },
      }),
    });
    await res.text();
  });
  return out;
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/v1/__bench/pieces') {
      return Response.json(await pieces(url, env));
    }
    if (url.pathname === '/v1/__bench/counts') {
      if (url.searchParams.get('reset') === '1') recent.length = 0;
      return Response.json(counts(url));
    }
    // Untimed calls (the CPU profile's) run the product exactly as deployed, without the wrappers.
    if (request.headers.get('X-Bench-Timing') === 'off') return worker.fetch(request, env, ctx);
    current = {};
    const rec = { forwarded: false, before: {}, after: {} };
    inFlight = rec;
    recent.push(rec);
    if (recent.length > RECENT) recent.shift();
    const start = performance.now();
    try {
      const response = await worker.fetch(request, wrapEnv(env, rec), ctx);
      current.handler = performance.now() - start;
      const timed = new Response(response.body, response);
      timed.headers.set('X-Bench-Timing', JSON.stringify(current));
      return timed;
    } finally {
      current = null;
      inFlight = null;
    }
  },
  scheduled: worker.scheduled,
};
