/**
 * Audit rows reach D1 in bulk: one statement carries many rows as one JSON parameter
 * (durable-objects/audit.rows.ts). What D1 stores must be exactly what was bound — the chain's
 * row hash is computed from the bound values and re-computed from the stored ones — for every
 * kind of value a row holds: REAL costs, JSON text, unicode, strings that look like numbers, NULLs.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { COLUMNS, jsonRowStatements, UPSERT_SQL, valuesJson } from '../../durable-objects/audit.rows';
import type { AuditEventInsert } from '../../workers/db/schema';

const SELECT = `SELECT ${COLUMNS.map(([c]) => `"${c}"`).join(', ')} FROM audit_events WHERE id = ?`;

async function stored(id: string): Promise<unknown[]> {
  const [values] = await env.DB.prepare(SELECT).bind(id).raw();
  return values as unknown[];
}

function row(id: string, extra: Partial<AuditEventInsert> = {}): AuditEventInsert {
  return { id, orgId: 'org_rows', type: 'llm_call', action: 'allow', createdAt: 1_796_000_000_123, ...extra };
}

describe('bulk audit writes', () => {
  it('store every value exactly as bound, so the chain hash of the stored row matches', async () => {
    const run = crypto.randomUUID().slice(0, 8);
    const rows: AuditEventInsert[] = [
      row(`evt_${run}_a`, {
        costUsd: 0.000123456789,
        inputTokens: 1_234_567,
        latencyMs: 0,
        details: { findings: [{ rule: 'pii', note: 'quote " backslash \\ newline \n emoji 🛡️ ünïcödé' }] },
        metadata: { team: 'a', n: 1.5 },
        tool: '123',
        user: 'null',
        model: '',
      }),
      row(`evt_${run}_b`, { costUsd: 3, upstreamStatus: 200, errorCode: null, tool: '1e5' }),
      // Costs as the pricing code makes them: products and sums of small decimals.
      ...Array.from({ length: 200 }, (_, i) =>
        row(`evt_${run}_c${i}`, { costUsd: (i + 1) * 0.0000031 + Math.random() / 7, outputTokens: i }),
      ),
    ];
    const json = rows.map(valuesJson);
    await env.DB.batch(jsonRowStatements(env.DB, UPSERT_SQL, json));
    for (const [i, r] of rows.entries()) expect(JSON.stringify(await stored(r.id))).toBe(json[i]);
  });

  it('overwrite only the outcome columns when a row is written again', async () => {
    const id = `evt_${crypto.randomUUID().slice(0, 8)}`;
    await env.DB.batch(jsonRowStatements(env.DB, UPSERT_SQL, [valuesJson(row(id, { tool: 'echo' }))]));
    const again = row(id, { tool: 'changed', action: 'deny', upstreamStatus: 502, costUsd: 0.25 });
    await env.DB.batch(jsonRowStatements(env.DB, UPSERT_SQL, [valuesJson(again)]));
    const values = await stored(id);
    const at = (name: string) => values[COLUMNS.findIndex(([c]) => c === name)];
    expect([at('tool'), at('action'), at('upstream_status'), at('cost_usd')]).toEqual([
      'echo',
      'deny',
      502,
      0.25,
    ]);
  });
});
