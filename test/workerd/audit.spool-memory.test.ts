/**
 * The audit spool keeps the rows waiting for their outcome in memory (so `complete` need not read
 * and parse them back), bounded by bytes as well as by 2,000 rows: a row may carry 8,192
 * characters of arguments, metadata and 50 findings, and one caller's calls in flight could fill
 * an object's memory. Real Durable Object SQLite: a row pushed out of memory is read back from it,
 * and completes the same.
 */
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { RECENT_ROW_BYTES, Spool } from '../../durable-objects/audit.spool';
import type { AuditEventInsert } from '../../workers/db/schema';
import { eventId } from '../../workers/lib/ids';

const RUN = crypto.randomUUID().slice(0, 8);

function heavyRow(i: number): AuditEventInsert {
  return {
    id: eventId(),
    orgId: `org_spool_memory_${RUN}`,
    type: 'tool_call',
    connectionId: 'con_spool',
    traceId: `spool-memory-${RUN}-${i}`,
    action: 'allow',
    createdAt: Date.now(),
    // About what 8,192 characters of arguments and 50 findings with their locations weigh.
    details: { arguments: `${i}:`.padEnd(100_000, 'a') },
  };
}

describe('the audit spool in memory', () => {
  it('holds heavy rows waiting for their outcome within RECENT_ROW_BYTES, and completes a dropped one from SQLite', async () => {
    const stub = env.AUDIT_SPOOL.getByName(`spool-memory-${RUN}`);
    await runInDurableObject(stub, async (_instance, state) => {
      const reads: string[] = [];
      const real = state.storage.sql;
      const sql = {
        exec: (query: string, ...bindings: unknown[]) => {
          if (query.startsWith('SELECT row FROM spool WHERE id')) reads.push(String(bindings[0]));
          return real.exec(query, ...bindings);
        },
      } as unknown as SqlStorage;
      const spool = new Spool(sql);
      const rows = Array.from({ length: 100 }, (_, i) => heavyRow(i));
      for (const row of rows) spool.put(row, false);
      expect(100 * 2 * 100_000).toBeGreaterThan(RECENT_ROW_BYTES);

      // The newest row is completed from memory; the first (100 ≪ 2,000 rows) from SQLite.
      expect(spool.complete(rows[99]!.id, { upstreamStatus: 200 })?.upstreamStatus).toBe(200);
      expect(reads).toEqual([]);
      const first = spool.complete(rows[0]!.id, { upstreamStatus: 201 });
      expect(reads).toEqual([rows[0]!.id]);
      expect(first?.upstreamStatus).toBe(201);
      expect(first?.details).toEqual(rows[0]!.details);
    });
  });
});
