/**
 * Audit durability under overload and a crash: open-loop calls at 2× the measured sustainable
 * rate (the gateway's saturation throughput) on a connection of their own, each with a unique
 * X-Igris-Trace-Id; midway the local runtime is SIGKILLed (the runtime's whole process group, no
 * shutdown of any kind) and started again on the same persist dir. Then every acknowledged call
 * (HTTP 200 with a JSON-RPC result) is looked up among the persisted rows
 * (GET /api/v1/audit-events/export?connection=…, the product's own export):
 *   lost        acknowledged, no row
 *   duplicated  more than one row for one call
 *   outcomeUnknown  row present, but the outcome patch was lost (flushed as `outcome_unknown`)
 * Calls that were not acknowledged (refused while the runtime was down, timed out) may or may not
 * have a row; they are counted, not judged.
 */
import { readFileSync } from 'node:fs';
import { type BenchContext, pick } from './lib/context.ts';
import { keepAliveAgent, send } from './lib/http.ts';
import { closedLoop, openLoop } from './lib/load.ts';
import { echoCall, echoMessage, isResult, mcpHeaders, rpcId } from './lib/mcp.ts';
import { echoFire } from './lib/paths.ts';
import { ensureConnection, setPolicy } from './lib/stack.ts';

export interface AuditResult {
  sustainableRps: number;
  offeredRps: number;
  durationMs: number;
  crashed: boolean;
  restartMs: number | null;
  sent: number;
  acknowledged: number;
  notAcknowledged: number;
  rowsFound: number;
  lost: number;
  duplicated: number;
  outcomeUnknown: number;
  /** Rows of calls that were not acknowledged (written before the crash cut the answer off). */
  rowsOfUnacknowledged: number;
  flushWaitMs: number;
  /**
   * The first lost calls (trace id, when each was sent and answered relative to the kill, ms), so
   * a loss can be followed in the spool and D1 (session 22's first full run lost 9 rows once).
   */
  lostSample?: Array<{ traceId: string; sentMs: number; answeredMs: number }>;
  /** The same for acknowledged calls whose row came as `outcome_unknown` (answered just before the kill). */
  unknownSample?: Array<{ traceId: string; sentMs: number; answeredMs: number }>;
}

interface ExportRow {
  traceId: string | null;
  errorCode: string | null;
}

export async function runAudit(ctx: BenchContext, measuredSustainable: number | null): Promise<AuditResult> {
  const slug = 'bench-audit';
  await ensureConnection(ctx.stack, slug);
  await setPolicy(ctx.stack, slug, [{ tool: '*', action: 'allow' }]);
  const run = `bench-au-${Date.now().toString(36)}`;
  const message = echoMessage(1024);
  const headersFor = (traceId: string) =>
    mcpHeaders(ctx.sessionId, { Authorization: `Bearer ${ctx.stack.apiKey}`, 'X-Igris-Trace-Id': traceId });

  let sustainable = measuredSustainable;
  if (!sustainable) {
    const url = new URL(`${ctx.stack.gatewayUrl}/v1/mcp/${slug}`);
    const agent = keepAliveAgent(16);
    const path = { name: 'R' as const, label: 'gateway', url, headers: headersFor(`${run}-probe`) };
    sustainable = (await closedLoop(16, 1_500, echoFire(path, agent, message))).rps;
    agent.destroy();
  }
  const offeredRps = Math.max(20, Math.round(2 * sustainable));
  const durationMs = pick(ctx, 6_000, 15_000);
  const crashAt = durationMs * 0.4;

  const acknowledged = new Set<string>();
  const all = new Set<string>();
  // When each acknowledged call was sent and answered (performance.now()), and when the kill came.
  const timing = new Map<string, { sent: number; answered: number }>();
  let killedAt = Number.NaN;
  let index = 0;
  const agent = keepAliveAgent(128);
  const fire = async () => {
    const traceId = `${run}-${index++}`;
    all.add(traceId);
    const sentAt = performance.now();
    const url = new URL(`${ctx.stack.gatewayUrl}/v1/mcp/${slug}`);
    const res = await send(agent, url, {
      body: echoCall(rpcId(), message),
      headers: headersFor(traceId),
      timeoutMs: 10_000,
    });
    const ok = isResult(res);
    if (ok) {
      acknowledged.add(traceId);
      timing.set(traceId, { sent: sentAt, answered: performance.now() });
    }
    return { ok, end: res.end };
  };

  ctx.log(
    `audit: ${offeredRps} rps offered (2 × ${sustainable.toFixed(0)}) for ${durationMs / 1000} s, runtime killed at ${crashAt / 1000} s`,
  );
  let restartMs: number | null = null;
  const crash = (async () => {
    await new Promise((r) => setTimeout(r, crashAt));
    ctx.stack.crash();
    const t = performance.now();
    killedAt = t;
    await new Promise((r) => setTimeout(r, 300));
    await ctx.stack.restart();
    restartMs = performance.now() - t;
    ctx.log(`audit: runtime restarted in ${(restartMs / 1000).toFixed(1)} s`);
  })();
  const load = await openLoop(
    { rate: offeredRps, durationMs, maxBacklogMs: Number.POSITIVE_INFINITY, drainMs: 15_000 },
    fire,
  );
  await crash;
  agent.destroy();

  // The spools flush by alarm: 1 s after a complete row (FLUSH_DELAY_MS), and after the outcome grace period
  // (AUDIT_OUTCOME_GRACE_SECONDS, 120 s in wrangler.toml) for a row whose outcome never came — a call
  // answered just before the kill whose outcome was still in the dead isolate's memory. Until session
  // 23 the suite gave up after 40 s and counted such rows as lost (session 22's 9), so it now waits
  // past the grace period when rows are missing, and they count as "outcome unknown".
  const flushStart = performance.now();
  const deadline = Math.max(flushStart + pick(ctx, 20_000, 40_000), killedAt + outcomeGraceMs() + 20_000);
  let rows: ExportRow[] = [];
  while (performance.now() < deadline) {
    rows = await exportRows(ctx, slug, run);
    const found = new Set(rows.map((r) => r.traceId));
    if ([...acknowledged].every((id) => found.has(id))) break;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  const flushWaitMs = performance.now() - flushStart;

  const counts = new Map<string, number>();
  let outcomeUnknown = 0;
  const unknownSample: NonNullable<AuditResult['unknownSample']> = [];
  for (const row of rows) {
    if (!row.traceId) continue;
    counts.set(row.traceId, (counts.get(row.traceId) ?? 0) + 1);
    if (row.errorCode === 'outcome_unknown' && acknowledged.has(row.traceId)) {
      outcomeUnknown++;
      const t = timing.get(row.traceId);
      if (t && unknownSample.length < 20)
        unknownSample.push({
          traceId: row.traceId,
          sentMs: t.sent - killedAt,
          answeredMs: t.answered - killedAt,
        });
    }
  }
  let lost = 0;
  let duplicated = 0;
  const lostSample: NonNullable<AuditResult['lostSample']> = [];
  for (const traceId of acknowledged) {
    const n = counts.get(traceId) ?? 0;
    if (n === 0) {
      lost++;
      const t = timing.get(traceId);
      if (t && lostSample.length < 20)
        lostSample.push({ traceId, sentMs: t.sent - killedAt, answeredMs: t.answered - killedAt });
    }
    if (n > 1) duplicated += n - 1;
  }
  const rowsOfUnacknowledged = [...counts.keys()].filter((id) => !acknowledged.has(id)).length;
  const result: AuditResult = {
    sustainableRps: sustainable,
    offeredRps,
    durationMs,
    crashed: true,
    restartMs,
    sent: load.sent,
    acknowledged: acknowledged.size,
    notAcknowledged: all.size - acknowledged.size,
    rowsFound: rows.length,
    lost,
    duplicated,
    outcomeUnknown,
    rowsOfUnacknowledged,
    flushWaitMs,
    ...(lostSample.length ? { lostSample } : {}),
    ...(unknownSample.length ? { unknownSample } : {}),
  };
  ctx.log(
    `audit: ${result.acknowledged} acknowledged of ${result.sent} sent; rows ${result.rowsFound}; lost ${lost}, duplicated ${duplicated}, outcome unknown ${outcomeUnknown}`,
  );
  for (const l of unknownSample)
    ctx.log(
      `audit: outcome unknown ${l.traceId}: sent ${l.sentMs.toFixed(0)} ms, answered ${l.answeredMs.toFixed(0)} ms from the kill`,
    );
  for (const l of lostSample)
    ctx.log(
      `audit: lost ${l.traceId}: sent ${l.sentMs.toFixed(0)} ms, answered ${l.answeredMs.toFixed(0)} ms from the kill`,
    );
  return result;
}

/** The outcome grace period the runtime runs with: wrangler.toml's AUDIT_OUTCOME_GRACE_SECONDS. */
function outcomeGraceMs(): number {
  const toml = readFileSync(new URL('../wrangler.toml', import.meta.url), 'utf8');
  const seconds = Number(/^AUDIT_OUTCOME_GRACE_SECONDS\s*=\s*"(\d+)"/m.exec(toml)?.[1]);
  if (!Number.isFinite(seconds)) throw new Error('wrangler.toml: AUDIT_OUTCOME_GRACE_SECONDS not found');
  return seconds * 1000;
}

async function exportRows(ctx: BenchContext, slug: string, run: string): Promise<ExportRow[]> {
  const agent = keepAliveAgent(1);
  try {
    const res = await send(
      agent,
      new URL(`${ctx.stack.gatewayUrl}/api/v1/audit-events/export?connection=${slug}&format=ndjson`),
      {
        headers: { Authorization: `Bearer ${ctx.stack.apiKey}` },
        timeoutMs: 60_000,
      },
    );
    if (res.status !== 200) throw new Error(`audit export: ${res.status} ${res.text.slice(0, 200)}`);
    return res.text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ExportRow)
      .filter((r) => r.traceId?.startsWith(run));
  } finally {
    agent.destroy();
  }
}
