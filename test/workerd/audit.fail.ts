/**
 * Makes an audit write fail, as a D1 error would: a trigger aborts every INSERT of one action's row
 * in one organization while `run` runs — and with it the whole batch (one transaction) the INSERT is
 * part of, or only that statement when it runs alone. Other organizations' rows are untouched.
 */
import { env } from 'cloudflare:workers';

const SAFE = /^[A-Za-z0-9_.:-]+$/;

export async function withFailingAudit<T>(orgId: string, action: string, run: () => Promise<T>): Promise<T> {
  // Trigger bodies take no bindings: the two values are spliced in, so only plain ids are accepted.
  if (!SAFE.test(orgId) || !SAFE.test(action)) throw new Error(`not a plain id: ${orgId} ${action}`);
  const name = `fail_audit_${crypto.randomUUID().replaceAll('-', '')}`;
  await env.DB.prepare(
    `CREATE TRIGGER ${name} BEFORE INSERT ON audit_events
     WHEN NEW.org_id = '${orgId}' AND NEW.action = '${action}'
     BEGIN SELECT RAISE(ABORT, 'audit write failed (test)'); END`,
  ).run();
  try {
    return await run();
  } finally {
    await env.DB.prepare(`DROP TRIGGER ${name}`).run();
  }
}

/** How many audit rows of this action the organization has. */
export async function auditCount(orgId: string, action: string): Promise<number> {
  const row = await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE org_id = ? AND action = ?')
    .bind(orgId, action)
    .first<{ n: number }>();
  return row?.n ?? 0;
}
