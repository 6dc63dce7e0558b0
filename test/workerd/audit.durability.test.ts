/**
 * No acknowledged call loses its audit row, and no row is written twice:
 *   - a burst of thousands of gateway calls → exactly one row per call;
 *   - the spool (real Durable Object SQLite, real D1) through the failures that could lose or
 *     duplicate rows: D1 down, D1 writing but the object dying before it notes the write, a row D1
 *     rejects, an outcome that arrives after the grace period or while a flush is in flight, and a
 *     spool created by an older version of the code.
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DELETE_FLUSHED_SQL,
  KEEP_FLUSHED_MS,
  OUTCOME_GRACE_MS,
  RETRY_DELAY_MS,
  Spool,
} from '../../durable-objects/audit.spool';
import type { Finding } from '../../durable-objects/guard.contract';
import type { AuditEventInsert } from '../../workers/db/schema';
import { eventId } from '../../workers/lib/ids';
import { createConnection, createOrg, flushAudit, mcp, putPolicy, type TestOrg } from './helpers';

const RUN = crypto.randomUUID().slice(0, 8);

/** Runs tasks with at most `limit` in flight. */
async function pool<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

describe('a burst through the gateway', () => {
  const CALLS = 2500;
  let org: TestOrg;

  beforeAll(async () => {
    org = await createOrg('owner');
    for (const slug of ['burst-a', 'burst-b']) {
      await createConnection(slug, { key: org.key });
      await putPolicy(slug, [{ tool: '*', action: 'allow' }], org.key);
    }
  });

  it(`writes exactly one row per call for ${CALLS} concurrent calls`, { timeout: 120_000 }, async () => {
    const statuses = await pool(CALLS, 64, async (i) => {
      const res = await mcp(
        i % 2 ? 'burst-a' : 'burst-b',
        'tools/call',
        { name: 'echo', arguments: { message: `m${i}` } },
        {
          key: org.key,
          headers: { 'X-Igris-Trace-Id': `burst-${RUN}-${i}` },
        },
      );
      await res.text();
      return res.status;
    });
    expect(statuses.filter((s) => s === 200)).toHaveLength(CALLS);

    const counts = async () =>
      env.DB.prepare(
        `SELECT count(*) AS rows, count(DISTINCT trace_id) AS traces, count(upstream_status) AS outcomes
         FROM audit_events WHERE org_id = ? AND type = 'tool_call' AND trace_id LIKE ?`,
      )
        .bind(org.orgId, `burst-${RUN}-%`)
        .first<{ rows: number; traces: number; outcomes: number }>();
    let seen = await counts();
    for (let i = 0; i < 200 && seen!.outcomes < CALLS; i++) {
      await flushAudit();
      seen = await counts();
    }
    expect(seen).toEqual({ rows: CALLS, traces: CALLS, outcomes: CALLS });
    const statusesInD1 = await env.DB.prepare(
      `SELECT upstream_status AS s, count(*) AS n FROM audit_events
       WHERE org_id = ? AND type = 'tool_call' AND trace_id LIKE ? GROUP BY upstream_status`,
    )
      .bind(org.orgId, `burst-${RUN}-%`)
      .all<{ s: number; n: number }>();
    expect(statusesInD1.results).toEqual([{ s: 200, n: CALLS }]);
  });
});

// ---------------------------------------------------------------------------------------------
// The spool itself, inside a real Durable Object, against real D1.
// ---------------------------------------------------------------------------------------------

function row(tag: string, overrides: Partial<AuditEventInsert> = {}): AuditEventInsert {
  return {
    id: eventId(),
    orgId: `org_spool_${RUN}`,
    type: 'tool_call',
    connectionId: 'con_spool',
    traceId: `spool-${RUN}-${tag}`,
    action: 'allow',
    createdAt: Date.now(),
    ...overrides,
  };
}

async function d1Rows(ids: string[]) {
  const { results } = await env.DB.prepare(
    `SELECT * FROM audit_events WHERE id IN (${ids.map(() => '?').join(', ')}) ORDER BY id`,
  )
    .bind(...ids)
    .all<Record<string, unknown>>();
  return results;
}

/** A D1 whose batch is replaced; prepare() still makes real statements. */
function d1With(batch: (statements: D1PreparedStatement[]) => Promise<D1Result[]>): D1Database {
  return { prepare: (sql: string) => env.DB.prepare(sql), batch } as unknown as D1Database;
}

const down = d1With(async () => {
  throw new Error('D1_ERROR: simulated outage');
});

/** Writes, then fails as if the object died before hearing back. */
const writesThenFails = d1With(async (statements) => {
  await env.DB.batch(statements);
  throw new Error('simulated: connection lost after commit');
});

let spoolSeq = 0;
async function inSpool<T>(fn: (spool: Spool, state: DurableObjectState) => Promise<T> | T): Promise<T> {
  const stub = env.AUDIT_SPOOL.getByName(`spool-test-${RUN}-${spoolSeq++}`);
  return runInDurableObject(stub, async (_instance, state) => fn(new Spool(state.storage.sql), state));
}

describe('the audit spool', () => {
  it('writes every column of a row to D1', async () => {
    const full = row('full', {
      connectionSlug: 'spool-slug',
      sessionId: 'ses_x',
      mcpSessionId: 'mcp-1',
      apiKeyId: 'key_x',
      actor: 'key:key_x',
      user: 'u@example.com',
      metadata: { a: 1, b: 'two' },
      metadataError: 'X-Igris-User ignored: too long',
      method: 'tools/call',
      tool: 'echo',
      ruleIndex: 2,
      policyVersion: 7,
      upstreamStatus: 201,
      latencyMs: 12,
      errorCode: 'none',
      details: { reason: 'r' },
      model: 'gpt-4o',
      inputTokens: 100,
      cachedInputTokens: 20,
      outputTokens: 30,
      reasoningTokens: 5,
      costUsd: 0.00125,
    });
    await inSpool(async (spool) => {
      spool.put(full, true);
      await spool.flush(env.DB);
    });
    const [stored] = await d1Rows([full.id]);
    expect(stored).toEqual({
      id: full.id,
      org_id: full.orgId,
      type: 'tool_call',
      connection_id: 'con_spool',
      connection_slug: 'spool-slug',
      session_id: 'ses_x',
      mcp_session_id: 'mcp-1',
      api_key_id: 'key_x',
      actor: 'key:key_x',
      user: 'u@example.com',
      trace_id: full.traceId,
      metadata: '{"a":1,"b":"two"}',
      metadata_error: 'X-Igris-User ignored: too long',
      method: 'tools/call',
      tool: 'echo',
      action: 'allow',
      rule_index: 2,
      policy_version: 7,
      upstream_status: 201,
      latency_ms: 12,
      error_code: 'none',
      details: '{"reason":"r"}',
      created_at: full.createdAt,
      model: 'gpt-4o',
      input_tokens: 100,
      cached_input_tokens: 20,
      output_tokens: 30,
      reasoning_tokens: 5,
      cost_usd: 0.00125,
    });
  });

  it('keeps every row through a D1 outage and writes each once when D1 is back', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => row(`outage-${i}`));
    await inSpool(async (spool) => {
      for (const r of rows) spool.put(r, true);
      await expect(spool.flush(down)).rejects.toThrow(/outage/);
      expect(spool.pendingCount()).toBe(30);
      expect(await d1Rows(rows.map((r) => r.id))).toHaveLength(0);
      // Rows that failed during the outage back off a little; none is dropped.
      await spool.flush(env.DB, Date.now() + RETRY_DELAY_MS * 4);
      expect(spool.pendingCount()).toBe(0);
    });
    expect(await d1Rows(rows.map((r) => r.id))).toHaveLength(30);
  });

  it('writes a row again when D1 committed but the answer was lost — still one row per id', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => row(`lost-ack-${i}`));
    await inSpool(async (spool) => {
      for (const r of rows) spool.put(r, true);
      await expect(spool.flush(writesThenFails)).rejects.toThrow();
      expect(spool.pendingCount()).toBe(10);
      await spool.flush(env.DB, Date.now() + RETRY_DELAY_MS * 4);
      expect(spool.pendingCount()).toBe(0);
    });
    const stored = await d1Rows(rows.map((r) => r.id));
    expect(stored.map((r) => r.id)).toEqual(rows.map((r) => r.id).sort());
  });

  it('does not let a row D1 rejects hold back the rows behind it; that row backs off and stays', async () => {
    const poison = row('poison', { action: null as unknown as string }); // NOT NULL violation
    const good = Array.from({ length: 6 }, (_, i) => row(`behind-poison-${i}`));
    const t0 = Date.now();
    await inSpool(async (spool, state) => {
      spool.put(poison, true, t0);
      for (const r of good) spool.put(r, true, t0);
      await spool.flush(env.DB, t0 + 1000);
      expect(await d1Rows(good.map((r) => r.id))).toHaveLength(6);
      expect(spool.pendingCount()).toBe(1);
      const attempts = () =>
        state.storage.sql
          .exec<{ attempts: number; retry_at: number }>(
            'SELECT attempts, retry_at FROM spool WHERE id = ?',
            poison.id,
          )
          .one();
      expect(attempts()).toEqual({ attempts: 1, retry_at: t0 + 1000 + RETRY_DELAY_MS });
      expect(spool.nextFlushAt(t0 + 1000)).toBe(t0 + 1000 + RETRY_DELAY_MS);
      // Not retried before its time…
      await spool.flush(env.DB, t0 + 2000);
      expect(attempts().attempts).toBe(1);
      // …then retried with a longer delay, and never dropped, even long after KEEP_FLUSHED_MS.
      await spool.flush(env.DB, t0 + 1000 + RETRY_DELAY_MS);
      expect(attempts()).toEqual({ attempts: 2, retry_at: t0 + 1000 + RETRY_DELAY_MS * 3 });
      await spool.flush(env.DB, t0 + KEEP_FLUSHED_MS * 10);
      expect(spool.pendingCount()).toBe(1);
    });
  });

  it('deletes flushed rows once KEEP_FLUSHED_MS has passed, oldest first and a few per flush, never an unflushed row', async () => {
    const old = Array.from({ length: 150 }, (_, i) => row(`kept-old-${i}`));
    const recent = Array.from({ length: 5 }, (_, i) => row(`kept-recent-${i}`));
    const t0 = Date.now();
    // Past KEEP_FLUSHED_MS for rows flushed at t0 + 1 s, not for rows flushed at t0 + 2 s.
    const tLate = t0 + 1000 + KEEP_FLUSHED_MS + 500;
    await inSpool(async (spool, state) => {
      const ids = (where: string) =>
        state.storage.sql
          .exec<{ id: string }>(`SELECT id FROM spool WHERE ${where} ORDER BY id`)
          .toArray()
          .map((r) => r.id);
      for (const r of old) spool.put(r, true, t0);
      await spool.flush(env.DB, t0 + 1000); // flushed at t0 + 1 s
      for (const r of recent) spool.put(r, true, t0 + 1500);
      await spool.flush(env.DB, t0 + 2000); // flushed at t0 + 2 s
      const unflushed = row('kept-unflushed');
      spool.put(unflushed, true, t0);
      state.storage.sql.exec('UPDATE spool SET retry_at = ? WHERE id = ?', tLate * 2, unflushed.id);

      // This flush writes nothing, so it deletes DELETE_FLUSHED_MIN (100) of the 150 old rows…
      await spool.flush(env.DB, tLate);
      expect(ids('1 = 1')).toHaveLength(150 - 100 + 5 + 1);
      // …the next the rest; the recent rows stay (a late outcome may still patch them), as does
      // the row not yet written to D1, however old.
      await spool.flush(env.DB, tLate + 1);
      expect(ids('1 = 1')).toEqual([...recent.map((r) => r.id), unflushed.id].sort());
      // Deleted from the spool only: D1 keeps every row.
      const oldIds = old.map((r) => r.id);
      expect(await d1Rows(oldIds.slice(0, 75))).toHaveLength(75); // D1: 100 bound values at most
      expect(await d1Rows(oldIds.slice(75))).toHaveLength(75);
      // It reads only the rows it deletes: the partial index of clean rows, by flush time.
      const plan = state.storage.sql
        .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${DELETE_FLUSHED_SQL}`, 0, 1)
        .toArray()
        .map((r) => r.detail);
      expect(plan.join('; ')).toMatch(/SEARCH spool USING COVERING INDEX spool_flushed \(flushed_at<\?\)/);
      expect(plan.filter((d) => d.startsWith('SCAN'))).toEqual([]);
    });
  });

  it('flushes a decision whose outcome never came as outcome_unknown, and patches it when the outcome is late', async () => {
    const decision = row('late');
    const t0 = Date.now();
    await inSpool(async (spool) => {
      spool.put(decision, false, t0);
      await spool.flush(env.DB, t0 + 1000);
      expect(await d1Rows([decision.id])).toHaveLength(0);
      expect(spool.nextFlushAt(t0 + 1000)).toBe(t0 + OUTCOME_GRACE_MS);

      await spool.flush(env.DB, t0 + OUTCOME_GRACE_MS);
      expect((await d1Rows([decision.id]))[0]).toMatchObject({
        error_code: 'outcome_unknown',
        upstream_status: null,
      });

      expect(spool.complete(decision.id, { upstreamStatus: 200, latencyMs: 250_000 })).not.toBeNull();
      await spool.flush(env.DB, t0 + OUTCOME_GRACE_MS + 1000);
    });
    const stored = await d1Rows([decision.id]);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      error_code: null,
      upstream_status: 200,
      latency_ms: 250_000,
      action: 'allow',
    });
  });

  it('keeps the outcome when a streamed answer’s late findings patch the completed row', async () => {
    const decision = row('late-findings');
    const t0 = Date.now();
    const early: Finding = { stage: 'inspection', kind: 'pii.email', severity: 'medium' };
    const late: Finding = { stage: 'inspection', kind: 'secret.aws_key', severity: 'high' };
    await inSpool(async (spool) => {
      spool.put(decision, false, t0);
      spool.complete(decision.id, { upstreamStatus: 200, latencyMs: 12, findings: [early] });
      // The completed row is no longer held in memory: the late patch reads it back from SQLite.
      const patched = spool.complete(decision.id, { findings: [late] });
      expect(patched).toMatchObject({ upstreamStatus: 200, latencyMs: 12 });
      await spool.flush(env.DB, t0 + 1000);
    });
    const [stored] = await d1Rows([decision.id]);
    expect(stored).toMatchObject({ upstream_status: 200, latency_ms: 12 });
    expect(JSON.parse(String(stored!.details)).findings).toEqual([early, late]);
  });

  it('re-flushes a row whose outcome arrived while its write was in flight', async () => {
    const decision = row('in-flight');
    const t0 = Date.now();
    await inSpool(async (spool) => {
      spool.put(decision, false, t0 - OUTCOME_GRACE_MS);
      const racing = d1With(async (statements) => {
        const result = await env.DB.batch(statements);
        spool.complete(decision.id, { upstreamStatus: 502, errorCode: 'upstream_unreachable' });
        return result;
      });
      await spool.flush(racing, t0);
      expect(spool.pendingCount()).toBe(1);
      expect((await d1Rows([decision.id]))[0]).toMatchObject({ error_code: 'outcome_unknown' });
      await spool.flush(env.DB, t0 + 1);
      expect(spool.pendingCount()).toBe(0);
    });
    expect((await d1Rows([decision.id]))[0]).toMatchObject({
      upstream_status: 502,
      error_code: 'upstream_unreachable',
    });
  });

  it('upgrades a spool written by the previous version in place, rows intact', async () => {
    const old = row('old-schema');
    const stub = env.AUDIT_SPOOL.getByName(`spool-test-${RUN}-old`);
    await runInDurableObject(stub, async (_instance, state) => {
      // The AuditSpool constructor already made the current table; recreate the old layout.
      state.storage.sql.exec('DROP TABLE spool');
      state.storage.sql.exec(`CREATE TABLE spool (id TEXT PRIMARY KEY, row TEXT NOT NULL, complete INTEGER NOT NULL,
        dirty INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL, flushed_at INTEGER)`);
      state.storage.sql.exec(
        'INSERT INTO spool (id, row, complete, created_at) VALUES (?, ?, 1, ?)',
        old.id,
        JSON.stringify(old),
        Date.now(),
      );
      const spool = new Spool(state.storage.sql);
      expect(spool.pendingCount()).toBe(1);
      await spool.flush(env.DB);
      expect(spool.pendingCount()).toBe(0);
    });
    expect(await d1Rows([old.id])).toHaveLength(1);
  });

  it('arms the alarm when rows are recorded, and the alarm empties the spool', async () => {
    const stub = env.AUDIT_SPOOL.getByName(`spool-test-${RUN}-alarm`);
    const rows = Array.from({ length: 5 }, (_, i) => row(`alarm-${i}`));
    await stub.record(rows);
    const alarm = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await d1Rows(rows.map((r) => r.id))).toHaveLength(5);
    expect(await runInDurableObject(stub, (_i, state) => state.storage.getAlarm())).toBeNull();
    // The same event recorded by a second object (the fail-open path) is still one row.
    const again = env.AUDIT_SPOOL.getByName(`spool-test-${RUN}-alarm-2`);
    await again.record([rows[0]!]);
    await flushAudit();
    expect(await d1Rows([rows[0]!.id])).toHaveLength(1);
  });
});
