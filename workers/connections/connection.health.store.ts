/** Reading connection health from the audit trail (pure summary: connection.health.ts). */
import {
  COUNTS_SQL,
  type ConnectionHealth,
  HEALTH_WINDOW_MS,
  LAST_ERROR_SQL,
  type LastErrorRow,
  toHealth,
} from './connection.health';

/** Health of each connection (by id) of one organization; one D1 round trip. */
export async function connectionHealth(
  db: D1Database,
  orgId: string,
  connectionIds: readonly string[],
  now = Date.now(),
): Promise<Map<string, ConnectionHealth>> {
  const health = new Map<string, ConnectionHealth>();
  if (connectionIds.length === 0) return health;
  const since = now - HEALTH_WINDOW_MS;
  const statements = connectionIds.flatMap((id) => [
    db.prepare(COUNTS_SQL).bind(orgId, id, since),
    db.prepare(LAST_ERROR_SQL).bind(orgId, id, since),
  ]);
  const results = await db.batch(statements);
  connectionIds.forEach((id, i) => {
    const counts = results[2 * i]?.results[0] as { calls: number; errors: number } | undefined;
    const last = (results[2 * i + 1]?.results[0] as LastErrorRow | undefined) ?? null;
    health.set(id, toHealth(counts?.calls ?? 0, counts?.errors ?? 0, last));
  });
  return health;
}
