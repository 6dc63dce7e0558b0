/**
 * Cron work (wrangler.toml `[triggers]`): audit retention. Each organization's
 * `settings.retentionDays` (default 90) decides how long its audit rows are kept.
 */
import { log } from './lib/log';

export const DEFAULT_RETENTION_DAYS = 90;

export async function runScheduled(_controller: ScheduledController, env: Env): Promise<{ deleted: number }> {
  const orgs = await env.DB.prepare('SELECT id, settings FROM organizations').all<{
    id: string;
    settings: string;
  }>();
  let deleted = 0;
  for (const org of orgs.results) {
    let days = DEFAULT_RETENTION_DAYS;
    try {
      const settings = JSON.parse(org.settings) as { retentionDays?: unknown };
      if (typeof settings.retentionDays === 'number' && settings.retentionDays >= 1)
        days = settings.retentionDays;
    } catch {
      // keep the default
    }
    const cutoff = Date.now() - days * 86_400_000;
    const result = await env.DB.prepare('DELETE FROM audit_events WHERE org_id = ? AND created_at < ?')
      .bind(org.id, cutoff)
      .run();
    deleted += result.meta.changes ?? 0;
  }
  log('info', 'audit retention run', { deleted });
  return { deleted };
}
