import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import type { AuditEventInsert } from '../../workers/db/schema';
import { spoolRefusal } from '../../workers/gateway/gateway.audit';
import { eventId } from '../../workers/lib/ids';

describe('refusal audit rows when the AuditSpool is unreachable', () => {
  it('fall back to a direct, idempotent D1 write', async () => {
    const broken = {
      getByName: () => {
        throw new Error('spool unreachable');
      },
    } as unknown as Env['AUDIT_SPOOL'];
    const row: AuditEventInsert = {
      id: eventId(),
      orgId: null,
      type: 'request',
      traceId: 'fallback_trace_1',
      action: 'unauthenticated',
      errorCode: 'unauthorized',
      createdAt: Date.now(),
    };
    await spoolRefusal({ AUDIT_SPOOL: broken, DB: env.DB }, [row]);
    await spoolRefusal({ AUDIT_SPOOL: broken, DB: env.DB }, [row]); // a retry must not duplicate
    const rows = await env.DB.prepare('SELECT id, action, error_code FROM audit_events WHERE trace_id = ?')
      .bind('fallback_trace_1')
      .all();
    expect(rows.results).toEqual([{ id: row.id, action: 'unauthenticated', error_code: 'unauthorized' }]);
  });

  it('throw when neither the spool nor D1 can take the row', async () => {
    const broken = {
      getByName: () => ({ record: () => Promise.reject(new Error('down')) }),
    } as unknown as Env['AUDIT_SPOOL'];
    const brokenDb = {
      batch: () => Promise.reject(new Error('d1 down')),
      prepare: env.DB.prepare.bind(env.DB),
    } as unknown as D1Database;
    await expect(
      spoolRefusal({ AUDIT_SPOOL: broken, DB: brokenDb }, [
        { id: eventId(), type: 'request', action: 'error', createdAt: Date.now() },
      ]),
    ).rejects.toThrow('d1 down');
  });
});
