/**
 * Kill switch under load: calls run open-loop on a connection of their own; mid-run the API pulls
 * a connection kill switch (POST /api/v1/kill-switch { scope: 'connection', target, reason }).
 *
 * Reported per trial (then p50 / max over trials):
 *   apiMs             how long the API took to answer (it pushes to the guard before answering)
 *   effectiveMs       how long after the API's answer calls were still admitted: the send time of
 *                     the last call admitted, minus the answer time (0 when none was sent after it)
 *   firstRefusalMs    from the answer to the first "Session Suspended" response (negative: a
 *                     refusal arrived before the API's own answer did)
 *   admittedAfter     calls sent after the answer and still admitted (should be 0)
 * and, before the trials, quietApiMs: the answer with no calls running (the switch's own cost; under
 * the open-loop load the answer also queues behind calls: on wrangler dev's port, 200 calls/s was most
 * of what that path sustained on 2 cores).
 * The switch is lifted (DELETE /api/v1/kill-switch/{id}) between trials.
 *
 * Run on the runtime's own socket, what `npm start` serves since session 13. Older results also hold
 * a run on wrangler dev's port (`port`), what `npm start` served before.
 */
import type http from 'node:http';
import { type BenchContext, pick } from './lib/context.ts';
import { apiCall, keepAliveAgent, send } from './lib/http.ts';
import { openLoop } from './lib/load.ts';
import { echoCall, echoMessage, isResult, isSuspended, mcpHeaders, rpcId } from './lib/mcp.ts';
import { ensureConnection, setPolicy } from './lib/stack.ts';
import { quantile } from './lib/stats.ts';

export interface KillTrial {
  apiMs: number;
  apiStatus: number;
  effectiveMs: number;
  firstRefusalMs: number | null;
  admittedAfter: number;
  callsDuring: number;
  /** Calls neither admitted nor refused as suspended, by HTTP status and error code. */
  otherErrors: number;
  otherByStatus: Record<string, number>;
}

export interface KillSwitchResult extends KillSwitchPathResult {
  /** The same trials through wrangler dev's port when the primary path was the runtime socket. */
  port?: KillSwitchPathResult;
}

/** The runs of a result, the runtime socket's first when there is one (what the reports iterate). */
export function killSwitchPaths(result: KillSwitchResult | undefined): KillSwitchPathResult[] {
  if (!result) return [];
  return result.port ? [result, result.port] : [result];
}

export interface KillSwitchPathResult {
  /** Absent in results from before 2026-12-04, which ran on wrangler dev's port only. */
  via?: 'runtime socket' | 'wrangler dev port';
  loadRps: number;
  trials: KillTrial[];
  effectiveMs: { p50: number; max: number };
  firstRefusalMs: { p50: number; max: number };
  apiMs: { p50: number; max: number };
  admittedAfterTotal: number;
  otherErrors: Record<string, number>;
  /**
   * The API's answer with no load on the gateway (same connection, same run): the kill switch's own
   * cost. Under the open-loop load the answer also waits behind the calls queued ahead of it.
   */
  quietApiMs?: { p50: number; max: number };
}

interface CallRecord {
  sentAt: number;
  end: number;
  admitted: boolean;
  suspended: boolean;
  status: string;
}

export async function runKillSwitch(ctx: BenchContext): Promise<KillSwitchResult> {
  const slug = 'bench-kill';
  const connection = await ensureConnection(ctx.stack, slug);
  await setPolicy(ctx.stack, slug, [{ tool: '*', action: 'allow' }]);
  // Since session 13 the gateway's port is the runtime's own socket (`npm start` has no proxy in front).
  return runPath(ctx, slug, connection.id, ctx.stack.gatewayUrl, 'runtime socket');
}

async function runPath(
  ctx: BenchContext,
  slug: string,
  connectionId: string,
  base: string,
  via: NonNullable<KillSwitchPathResult['via']>,
): Promise<KillSwitchPathResult> {
  const trials = pick(ctx, 2, 8);
  const loadRps = pick(ctx, 100, 200);
  const url = new URL(`${base}/v1/mcp/${slug}`);
  const headers = mcpHeaders(ctx.sessionId, {
    Authorization: `Bearer ${ctx.stack.apiKey}`,
    'X-Igris-User': 'bench-user',
  });
  const message = echoMessage(1024);
  const results: KillTrial[] = [];
  const quietApiMs = await quietAnswers(ctx, base, connectionId, pick(ctx, 3, 8));

  for (let t = 0; t < trials; t++) {
    const agent: http.Agent = keepAliveAgent(64);
    const calls: CallRecord[] = [];
    const fire = async () => {
      const sentAt = performance.now();
      let res: Awaited<ReturnType<typeof send>>;
      try {
        res = await send(agent, url, { body: echoCall(rpcId(), message), headers, timeoutMs: 10_000 });
      } catch (err) {
        calls.push({
          sentAt,
          end: performance.now(),
          admitted: false,
          suspended: false,
          status: String(err).slice(0, 60),
        });
        throw err;
      }
      const code = /"code":"([a-z_]+)"/.exec(res.text)?.[1] ?? '';
      const record = {
        sentAt,
        end: res.end,
        admitted: isResult(res),
        suspended: isSuspended(res),
        status: `${res.status} ${code}`.trim(),
      };
      calls.push(record);
      return { ok: record.admitted || record.suspended, end: res.end };
    };
    await waitUntilAdmitted(agent, url, headers, message);
    const load = openLoop({ rate: loadRps, durationMs: 2_500, maxBacklogMs: 5_000 }, fire);
    await new Promise((r) => setTimeout(r, 1_000));
    const sentKill = performance.now();
    const pulled = await apiCall<{ id: string }>(base, ctx.stack.apiKey, 'POST', '/kill-switch', {
      scope: 'connection',
      target: connectionId,
      reason: `bench trial ${t}`,
    });
    const answered = performance.now();
    await load;
    if (pulled.status >= 300) throw new Error(`kill switch: ${pulled.status} ${JSON.stringify(pulled.body)}`);

    const admittedAfter = calls.filter((c) => c.admitted && c.sentAt >= answered);
    const lastAdmitted = Math.max(...calls.filter((c) => c.admitted).map((c) => c.sentAt));
    const refusals = calls.filter((c) => c.suspended).map((c) => c.end);
    results.push({
      apiMs: answered - sentKill,
      apiStatus: pulled.status,
      effectiveMs: Math.max(0, lastAdmitted - answered),
      firstRefusalMs: refusals.length ? Math.min(...refusals) - answered : null,
      admittedAfter: admittedAfter.length,
      callsDuring: calls.length,
      otherErrors: calls.filter((c) => !c.admitted && !c.suspended).length,
      otherByStatus: calls
        .filter((c) => !c.admitted && !c.suspended)
        .reduce<Record<string, number>>((acc, c) => {
          acc[c.status] = (acc[c.status] ?? 0) + 1;
          return acc;
        }, {}),
    });
    await apiCall(base, ctx.stack.apiKey, 'DELETE', `/kill-switch/${pulled.body.id}`);
    agent.destroy();
  }

  const stat = (values: number[]) => ({ p50: quantile(values, 0.5), max: Math.max(...values) });
  const result: KillSwitchPathResult = {
    via,
    loadRps,
    trials: results,
    effectiveMs: stat(results.map((r) => r.effectiveMs)),
    firstRefusalMs: stat(results.map((r) => r.firstRefusalMs ?? Number.POSITIVE_INFINITY)),
    apiMs: stat(results.map((r) => r.apiMs)),
    admittedAfterTotal: results.reduce((a, r) => a + r.admittedAfter, 0),
    quietApiMs: stat(quietApiMs),
    otherErrors: results.reduce<Record<string, number>>((acc, r) => {
      for (const [k, v] of Object.entries(r.otherByStatus)) acc[k] = (acc[k] ?? 0) + v;
      return acc;
    }, {}),
  };
  ctx.log(
    `kill switch (${via}) at ${loadRps} rps: effective p50 ${result.effectiveMs.p50.toFixed(1)} ms max ${result.effectiveMs.max.toFixed(1)} ms; ` +
      `first refusal p50 ${result.firstRefusalMs.p50.toFixed(1)} ms; API ${result.apiMs.p50.toFixed(1)} ms (no load: ${result.quietApiMs!.p50.toFixed(1)} ms); admitted after answer ${result.admittedAfterTotal}; other answers ${JSON.stringify(result.otherErrors)}`,
  );
  return result;
}

/** Pulls and lifts a connection switch `n` times with no calls running: the answer times of the pulls. */
async function quietAnswers(
  ctx: BenchContext,
  base: string,
  connectionId: string,
  n: number,
): Promise<number[]> {
  const answers: number[] = [];
  for (let i = 0; i < n; i++) {
    const sent = performance.now();
    const pulled = await apiCall<{ id: string }>(base, ctx.stack.apiKey, 'POST', '/kill-switch', {
      scope: 'connection',
      target: connectionId,
      reason: `bench quiet ${i}`,
    });
    answers.push(performance.now() - sent);
    if (pulled.status >= 300) throw new Error(`kill switch: ${pulled.status} ${JSON.stringify(pulled.body)}`);
    await apiCall(base, ctx.stack.apiKey, 'DELETE', `/kill-switch/${pulled.body.id}`);
  }
  return answers;
}

/** After a lift, calls pass again (the lift is pushed before the API answers; this only guards the bench). */
async function waitUntilAdmitted(
  agent: http.Agent,
  url: URL,
  headers: Record<string, string>,
  message: string,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const res = await send(agent, url, { body: echoCall(rpcId(), message), headers });
    if (isResult(res)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('calls were not admitted again after the kill switch was lifted');
}
