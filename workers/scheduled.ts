/**
 * Cron work (wrangler.toml `[triggers]`): the A2A AgentCard refresh (workers/a2a/a2a.refresh.ts),
 * audit retention, and — while a master-key rotation is under
 * way (ENCRYPTION_KEY_PREVIOUS set) — re-encryption of stored credentials (workers/vault/vault.reencrypt.ts).
 *
 * Audit retention: Each organization's
 * `settings.retentionDays` (default 90) decides how long its audit rows are kept; rows tied to no
 * organization (refusals of unknown keys) are kept for the default.
 *
 * Deletes go in bounded chunks so no single statement runs into D1's per-query limits however
 * large the backlog, and one organization's failure does not stop the others (the next run
 * catches up). Times are measured from the trigger's scheduledTime, so a run is reproducible.
 */
import { refreshDueCards } from './a2a/a2a.refresh';
import { log } from './lib/log';
import { parseStoredJson, recordOrEmpty } from './lib/values';
import { reencryptCredentials } from './vault/vault.reencrypt';

export const DEFAULT_RETENTION_DAYS = 90;
const MAX_RETENTION_DAYS = 3650;
const DAY_MS = 86_400_000;
/** Rows per DELETE statement, and statements per organization per run. */
export const PURGE_CHUNK = 5_000;
const MAX_CHUNKS_PER_SCOPE = 200;

/** The organization's retention in days: its setting when valid, else the default. */
export function retentionDays(settings: string | null): number {
  const days = recordOrEmpty(parseStoredJson(settings)).retentionDays; // invalid JSON: the default
  if (typeof days === 'number' && Number.isInteger(days) && days >= 1 && days <= MAX_RETENTION_DAYS)
    return days;
  return DEFAULT_RETENTION_DAYS;
}

/** Deletes rows older than `cutoff` for one organization (or, with null, for none), chunk by chunk. */
async function purge(db: D1Database, orgId: string | null, cutoff: number): Promise<number> {
  const scope = orgId === null ? 'org_id IS NULL' : 'org_id = ?';
  const binds = orgId === null ? [cutoff] : [orgId, cutoff];
  const statement = db.prepare(
    `DELETE FROM audit_events WHERE rowid IN
       (SELECT rowid FROM audit_events WHERE ${scope} AND created_at < ? LIMIT ${PURGE_CHUNK})`,
  );
  let deleted = 0;
  for (let i = 0; i < MAX_CHUNKS_PER_SCOPE; i++) {
    const changes = (await statement.bind(...binds).run()).meta.changes ?? 0;
    deleted += changes;
    if (changes < PURGE_CHUNK) break;
  }
  // The hash chain's links of the same age go too (a prefix of each chain: links are written in
  // flush order); verify then starts each chain at its oldest remaining link (audit.verify.ts).
  await db
    .prepare(`DELETE FROM audit_chain WHERE ${scope} AND created_at < ?`)
    .bind(...binds)
    .run();
  // Signed checkpoints of the chains (workers/audit/audit.checkpoints.ts) older than the rows they vouch for.
  await db
    .prepare(`DELETE FROM audit_checkpoints WHERE ${scope} AND created_at < ?`)
    .bind(...binds)
    .run();
  // Approvals of held calls (docs/policies.md#approvals) are kept as long as the audit rows about them.
  await db
    .prepare(`DELETE FROM approvals WHERE ${scope} AND requested_at < ?`)
    .bind(...binds)
    .run();
  // A2A task tracking (docs/a2a.md#tasks) is part of the trail: its events, and the tasks last
  // updated before the cutoff, go with the audit rows of the same age.
  await db
    .prepare(`DELETE FROM a2a_task_events WHERE ${scope} AND created_at < ?`)
    .bind(...binds)
    .run();
  await db
    .prepare(`DELETE FROM a2a_tasks WHERE ${scope} AND updated_at < ?`)
    .bind(...binds)
    .run();
  return deleted;
}

export async function runScheduled(
  controller: Pick<ScheduledController, 'scheduledTime'>,
  env: Pick<Env, 'DB'> & {
    ENCRYPTION_KEY?: string;
    ENCRYPTION_KEY_PREVIOUS?: string;
    EVENT_HUB?: Env['EVENT_HUB'];
    ALLOW_PRIVATE_UPSTREAMS?: string;
  },
): Promise<{ deleted: number; failed: number }> {
  if (env.ENCRYPTION_KEY_PREVIOUS) {
    try {
      await reencryptCredentials(env);
    } catch (err) {
      log('error', 'credential re-encryption run failed; the next run retries', { err });
    }
  }
  const now = controller.scheduledTime;
  const orgs = await env.DB.prepare('SELECT id, settings FROM organizations').all<{
    id: string;
    settings: string | null;
  }>();
  const scopes: Array<{ orgId: string | null; days: number }> = [
    ...orgs.results.map((org) => ({ orgId: org.id, days: retentionDays(org.settings) })),
    { orgId: null, days: DEFAULT_RETENTION_DAYS },
  ];
  let deleted = 0;
  let failed = 0;
  for (const { orgId, days } of scopes) {
    try {
      deleted += await purge(env.DB, orgId, now - days * DAY_MS);
    } catch (err) {
      failed++;
      log('error', 'audit retention failed for an organization; the next run retries', { orgId, err });
    }
  }
  log('info', 'audit retention run', { deleted, organizations: orgs.results.length, failed });
  // Records of issued OAuth refresh tokens (workers/oauth/oauth.refresh-reuse.ts) past their grant's lifetime.
  try {
    await env.DB.prepare(
      `DELETE FROM oauth_refresh_tokens WHERE rowid IN
         (SELECT rowid FROM oauth_refresh_tokens WHERE expires_at < ? LIMIT ${PURGE_CHUNK})`,
    )
      .bind(now)
      .run();
  } catch (err) {
    log('error', 'expired refresh token records not deleted; the next run retries', { err });
  }
  // After retention (which must not wait on outbound fetches): A2A AgentCards fetched from a URL
  // are re-read (workers/a2a/a2a.refresh.ts), a changed card recorded like tool drift.
  if (env.EVENT_HUB) {
    try {
      await refreshDueCards({ ...env, EVENT_HUB: env.EVENT_HUB }, controller.scheduledTime);
    } catch (err) {
      log('error', 'AgentCard refresh run failed; the next run retries', { err });
    }
  }
  return { deleted, failed };
}
